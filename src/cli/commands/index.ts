/**
 * Dispatch from a plan to the function that runs it. Each command's module is imported only when
 * that command runs: the agent, deepagents and the Stellar SDK take seconds to load, and
 * `--help`, `doctor` or `events` should not pay for them.
 */
import { CliError, CliErrorCode } from "../errors.ts";
import type { CommandPlan } from "../plan.ts";
import type { CliContext } from "../context.ts";
import { headStart } from "./head-start.ts";

export async function runCommand(plan: Exclude<CommandPlan, { command: "help" | "version" }>, ctx: CliContext): Promise<number> {
  switch (plan.command) {
    case "doctor":
      return (await import("./doctor.ts")).runDoctor(plan, ctx);
    // The head start before the run's module: importing it loads the agent's whole stack (~0.5 s
    // in one block), which would hold back nats-server's spawn and the VM's restore.
    case "run": {
      (await import("../model.ts")).cliModel(ctx.env); // with no model, say what to set before starting anything
      const vms = await headStart(ctx, "run", { vm: true });
      return (await import("./run.ts")).runRun(plan, ctx, vms);
    }
    case "resume": {
      const vms = await headStart(ctx, "resume", { vm: false }); // the thread may not exist: no VM yet
      return (await import("./run.ts")).runResume(plan, ctx, vms);
    }
    case "demo": {
      const vms = await headStart(ctx, "demo", { vm: true });
      return (await import("./run.ts")).runDemo(plan, ctx, vms);
    }
    case "threads":
      return (await import("./threads.ts")).runThreads(plan, ctx);
    case "show":
      return (await import("./threads.ts")).runShow(plan, ctx);
    case "events":
      return (await import("./events.ts")).runEvents(plan, ctx);
    case "export":
      return (await import("./export.ts")).runExport(plan, ctx);
    case "approve":
    case "reject":
      return (await import("./approve.ts")).runDecision(plan, ctx);
    case "ledger-verify":
      return (await import("./ledger.ts")).runLedgerVerify(plan, ctx);
    case "image-build":
      return (await import("./image.ts")).runImageBuild(plan, ctx);
    case "wallet-create":
      return (await import("./wallet.ts")).runWalletCreate(plan, ctx);
    case "wallet-import":
      return (await import("./wallet.ts")).runWalletImport(plan, ctx);
    case "wallet-show":
      return (await import("./wallet.ts")).runWalletShow(plan, ctx);
    case "payments":
      return (await import("./wallet.ts")).runPayments(plan, ctx);
    case "web":
      return (await import("./web.ts")).runWeb(plan, ctx);
    case "owner-init":
      return (await import("./owner.ts")).runOwnerInit(plan, ctx);
    case "owner-show":
      return (await import("./owner.ts")).runOwnerShow(plan, ctx);
    case "prune":
      return (await import("./prune.ts")).runPrune(plan, ctx);
    case "submit":
      return (await import("./submit.ts")).runSubmit(plan, ctx);
    case "worker":
      return (await import("./worker.ts")).runWorker(plan, ctx);
    case "fleet":
      return (await import("./fleet.ts")).runFleet(plan, ctx);
    case "nats-config":
      return (await import("./owner.ts")).runNatsConfig(plan, ctx);
    default: {
      const unknown: never = plan;
      throw new CliError(CliErrorCode.Failed, `no runner for ${JSON.stringify(unknown)}`);
    }
  }
}
