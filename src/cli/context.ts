/**
 * What a command gets from the runner: the process's I/O and environment (injectable, so tests
 * run `main()` in-process with captured output), a signal that fires on Ctrl-C/SIGTERM, and a
 * place to register cleanup (stop the embedded nats-server, the VMs) that runs on every exit path.
 */

export interface CliOutput {
  write(chunk: string): unknown;
  /** True when a person is watching: enables the redrawn status line. */
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CliContext extends CliIo {
  /** Aborted on Ctrl-C or SIGTERM; long-running commands stop at the next safe point. */
  signal: AbortSignal;
  /** Registers cleanup; run in reverse order when the command ends, however it ends. */
  defer(cleanup: () => unknown): void;
}

export function processIo(): CliIo {
  // `vibewriter events ID | head`: the reader went away. That is the end of output, not a crash:
  // stop the command the way Ctrl-C does, so cleanup (VMs, embedded nats-server) still runs.
  let closed = false;
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    if (!closed) process.kill(process.pid, "SIGTERM");
    closed = true;
  });
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Prints one JSON document (the `--json` contract: exactly one per command, on stdout). */
export function printJson(ctx: Pick<CliIo, "stdout">, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
