/** `vibewriter fleet` (issue 14): being built. */
import { CliError, CliErrorCode } from "../errors.ts";
import type { CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export async function runFleet(_plan: Extract<CommandPlan, { command: "fleet" }>, _ctx: CliContext): Promise<number> {
  throw new CliError(CliErrorCode.Failed, "`vibewriter fleet` is not built yet");
}
