/** Dispatch from a plan to the function that runs it. */
import { CliError, CliErrorCode } from "../errors.ts";
import type { CommandPlan } from "../plan.ts";
import type { CliContext } from "../context.ts";
import { runDoctor } from "./doctor.ts";
import { runImageBuild } from "./image.ts";
import { runLedgerVerify } from "./ledger.ts";
import { runShow, runThreads } from "./threads.ts";
import { runEvents } from "./events.ts";
import { runDemo, runResume, runRun } from "./run.ts";
import { runDecision } from "./approve.ts";

export async function runCommand(plan: Exclude<CommandPlan, { command: "help" | "version" }>, ctx: CliContext): Promise<number> {
  switch (plan.command) {
    case "doctor":
      return runDoctor(plan, ctx);
    case "run":
      return runRun(plan, ctx);
    case "resume":
      return runResume(plan, ctx);
    case "demo":
      return runDemo(plan, ctx);
    case "threads":
      return runThreads(plan, ctx);
    case "show":
      return runShow(plan, ctx);
    case "events":
      return runEvents(plan, ctx);
    case "approve":
    case "reject":
      return runDecision(plan, ctx);
    case "ledger-verify":
      return runLedgerVerify(plan, ctx);
    case "image-build":
      return runImageBuild(plan, ctx);
    default: {
      const unknown: never = plan;
      throw new CliError(CliErrorCode.Failed, `no runner for ${JSON.stringify(unknown)}`);
    }
  }
}
