/** Dispatch from a plan to the function that runs it. */
import { CliError, CliErrorCode } from "../errors.ts";
import type { CommandPlan } from "../plan.ts";
import type { CliContext } from "../context.ts";
import { runDoctor } from "./doctor.ts";
import { runImageBuild } from "./image.ts";
import { runLedgerVerify } from "./ledger.ts";

export async function runCommand(plan: Exclude<CommandPlan, { command: "help" | "version" }>, ctx: CliContext): Promise<number> {
  switch (plan.command) {
    case "doctor":
      return runDoctor(plan, ctx);
    case "ledger-verify":
      return runLedgerVerify(plan, ctx);
    case "image-build":
      return runImageBuild(plan, ctx);
    default:
      throw new CliError(CliErrorCode.Failed, `\`${plan.command}\` is not available in this build yet.`);
  }
}
