/**
 * The runner of the `vibewriter` command: parse argv into a plan (pure, `parse.ts`), run the plan,
 * own I/O, signals, cleanup and the exit code. Errors are printed here, once.
 */
import { CliError, CliErrorCode, exitCodeFor, toCliError } from "./errors.ts";
import { helpText, parseCommandLine } from "./parse.ts";
import type { CommandPlan } from "./plan.ts";
import { processIo, printJson, type CliContext, type CliIo } from "./context.ts";
import { runCommand } from "./commands/index.ts";
import { redactingIo } from "./redact.ts";
import { silenceLangChainUpgradeNotice } from "./langchain-notice.ts";

const VERSION = "0.1.0";

/** Runs the command line; resolves the exit code. Never throws. */
export async function main(argv: string[], rawIo: CliIo = processIo()): Promise<number> {
  silenceLangChainUpgradeNotice(); // its misleading "pnpm install" advice; idempotent, other warnings pass
  const io = redactingIo(rawIo);
  let plan: CommandPlan;
  try {
    plan = parseCommandLine(argv, io.cwd);
  } catch (e) {
    return printError(io, toCliError(e), argv.includes("--json"));
  }
  if (plan.command === "help") {
    io.stdout.write(helpText(plan.topic));
    return 0;
  }
  if (plan.command === "version") {
    io.stdout.write(`vibewriter ${VERSION}\n`);
    return 0;
  }

  const controller = new AbortController();
  const cleanups: (() => unknown)[] = [];
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) {
      // A second Ctrl-C means "now": state is in NATS already; cleanup may be skipped.
      io.stderr.write("\nvibewriter: stopping immediately.\n");
      process.exit(exitCodeFor.interrupted);
    }
    io.stderr.write(`\nvibewriter: ${sig === "SIGINT" ? "Ctrl-C" : sig}: stopping (again to force)…\n`);
    controller.abort(new CliError(CliErrorCode.Interrupted, "Interrupted.", {}));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const ctx: CliContext = { ...io, signal: controller.signal, defer: (fn) => void cleanups.push(fn) };

  try {
    return await runCommand(plan, ctx);
  } catch (e) {
    // A command that knows more about the interruption (which thread to resume) says so itself.
    const err = CliError.isInstance(e) || !controller.signal.aborted ? toCliError(e) : (controller.signal.reason as CliError);
    return printError(io, err, plan.json);
  } finally {
    // Cleanup awaits child processes (a detached, unref'd nats-server) that do not keep the event
    // loop alive by themselves; without this, Node would exit mid-cleanup with code 13.
    const keepAlive = setInterval(() => {}, 1_000);
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (e) {
        io.stderr.write(`vibewriter: cleanup failed: ${(e as Error).message ?? e}\n`);
      }
    }
    clearInterval(keepAlive);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function printError(io: CliIo, err: CliError, json: boolean): number {
  if (json) {
    const cause = err.cause as { code?: unknown } | undefined;
    printJson(io, {
      ok: false,
      error: {
        code: err.code,
        ...(typeof cause?.code === "string" ? { causeCode: cause.code } : {}),
        message: err.message,
        ...(err.fix ? { fix: err.fix } : {}),
      },
    });
  } else {
    io.stderr.write(`vibewriter: ${err.message}\n`);
    if (err.fix) io.stderr.write(`${err.fix.replace(/^/gm, "  ")}\n`);
  }
  return exitCodeFor[err.code];
}
