/** `vibewriter worker` (issue 14): being built. */
import { CliError, CliErrorCode } from "../errors.ts";
import type { CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runWorker(_plan: Extract<CommandPlan, { command: "worker" }>, _ctx: CliContext): Promise<number> {
  throw new CliError(CliErrorCode.Failed, "`vibewriter worker` is not built yet");
}
