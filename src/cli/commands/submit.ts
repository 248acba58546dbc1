/** `vibewriter submit` (issue 14): being built. */
import { CliError, CliErrorCode } from "../errors.ts";
import type { CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runSubmit(_plan: Extract<CommandPlan, { command: "submit" }>, _ctx: CliContext): Promise<number> {
  throw new CliError(CliErrorCode.Failed, "`vibewriter submit` is not built yet");
}
