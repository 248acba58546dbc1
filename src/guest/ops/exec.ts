/**
 * `exec`: run argv (no shell) or a shell string as the sandbox user, in a cgroup of its own
 * (command-cgroup.ts). A command owns its processes: when its main process exits, at its timeout
 * or on cancel, every process it started is killed (`cgroup.kill`) and the result is sent only
 * once they are all gone — a `setsid` child or one holding stdout open neither survives the
 * command nor keeps it from ending. Output is streamed as `data` frames up to `maxOutputBytes`;
 * the rest is drained and dropped (`truncated`). A timed-out command still returns the output it
 * had written (`timedOut`, with the signal that ended it).
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { bad, obj, optBool, optInt, optStr } from "../args.ts";
import { CommandCgroup } from "../command-cgroup.ts";
import { confine } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError } from "../errors.ts";
import type { RequestContext } from "../request-context.ts";
import { ErrorCode, OP_SCHEMAS, type ExecResult } from "../../protocol/index.ts";

const { defaultTimeoutMs: DEFAULT_TIMEOUT_MS, defaultMaxOutputBytes: DEFAULT_MAX_OUTPUT, maxTimeoutMs: MAX_TIMEOUT_MS } = OP_SCHEMAS.exec.limits;

export async function handleExec(ctx: AgentContext, req: RequestContext): Promise<ExecResult> {
  const { args } = req;
  const argv = parseArgv(args.argv);
  const shell = optStr(args, "shell");
  if ((argv === undefined) === (shell === undefined)) throw bad("exactly one of argv and shell is required");
  const cwd = (confine(ctx, optStr(args, "cwd") ?? "/workspace", "read")).real;
  const env = { ...ctx.baseEnv, ...parseEnv(args.env) };
  const timeoutMs = optInt(args, "timeoutMs", 1, MAX_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS;
  const cap = optInt(args, "maxOutputBytes", 0) ?? DEFAULT_MAX_OUTPUT;
  const wantsStdin = optBool(args, "stdin") ?? false;
  const [file, rest] = argv ? [argv[0]!, argv.slice(1)] : ["/bin/sh", ["-c", shell!]];

  if (shell?.includes("\0")) throw bad("shell must not contain NUL bytes");
  // A command must see the clock the host's hello asked for.
  if (ctx.clockSetting) await ctx.clockSetting;
  const cgroup = CommandCgroup.create(ctx.privileges);
  // Spawned with root's effective ids so the child's setuid drops real, effective and saved ids
  // for good (from lowered ids it would keep a real uid of 0). spawn() forks synchronously.
  const start = () =>
    spawn(file, rest, {
      cwd,
      env,
      detached: true, // own process group: what reaches its descendants where there is no cgroup
      stdio: [wantsStdin ? "pipe" : "ignore", "pipe", "pipe"],
      ...(ctx.sandboxUser ?? {}),
    });
  let child: ReturnType<typeof start>;
  try {
    child = ctx.privileges.asRoot(() => (cgroup ? cgroup.spawnInside(start) : start()));
  } catch (err) {
    await cgroup?.killAndWait();
    throw err;
  }
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (err) => reject(new GuestAgentError(ErrorCode.BadRequest, `cannot run ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err })));
  });
  const killAll = (): void => {
    cgroup?.kill();
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // ESRCH: the group is already gone
    }
  };
  // Listen before any await: a quick command can exit while we are still sending `start`.
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      // The command is over: what it left behind dies with it (and stops holding the pipes,
      // which would keep `close` from firing).
      killAll();
      resolve({ code, signal });
    });
  });
  try {
    await spawned;
  } catch (err) {
    await cgroup?.killAndWait();
    throw err;
  }
  const pid = child.pid!;
  await req.send({ ev: "start", pid });

  let timedOut = false;
  let truncated = false;
  let sent = 0;
  const timer = setTimeout(() => {
    timedOut = true;
    killAll();
  }, timeoutMs);
  const onAbort = (): void => killAll();
  req.signal.addEventListener("abort", onAbort);
  // A cancel (or the host leaving) that came while the command was starting has fired already.
  if (req.signal.aborted) killAll();

  // Sends are serialised through one chain so the result never overtakes output.
  let chain: Promise<void> = Promise.resolve();
  const pump = (stream: Readable, name: "stdout" | "stderr"): void => {
    stream.on("data", (chunk: Buffer) => {
      if (sent >= cap) {
        if (chunk.length) truncated = true;
        return;
      }
      const part = chunk.length > cap - sent ? chunk.subarray(0, cap - sent) : chunk;
      if (part.length < chunk.length) truncated = true;
      sent += part.length;
      stream.pause(); // back-pressure: the host reads slower than a command can write
      chain = chain.then(() => req.data(part, { stream: name })).finally(() => stream.resume());
    });
  };
  pump(child.stdout!, "stdout");
  pump(child.stderr!, "stderr");
  if (wantsStdin) void feedStdin(req, child.stdin!);

  const exit = await exited;
  await closed;
  // No process of the command may act after its result: wait until the cgroup is empty.
  await cgroup?.killAndWait();
  ctx.tree.commandEnded();
  clearTimeout(timer);
  req.signal.removeEventListener("abort", onAbort);
  await chain.catch(() => {});
  if (req.signal.aborted) throw new GuestAgentError(ErrorCode.Cancelled, "cancelled");
  return { exitCode: exit.code, signal: exit.signal, timedOut, truncated };
}

async function feedStdin(req: RequestContext, stdin: NodeJS.WritableStream): Promise<void> {
  stdin.on("error", () => {}); // EPIPE when the command does not read its input
  try {
    for await (const part of req.body) {
      if (!stdin.write(part)) await new Promise((resolve) => stdin.once("drain", resolve));
    }
  } catch {
    // cancelled: the command is being killed anyway
  }
  stdin.end();
}

function parseArgv(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === "string" && !a.includes("\0"))) {
    throw bad("argv must be a non-empty array of strings without NUL bytes");
  }
  return v as string[];
}

function parseEnv(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  const env = obj(v, "env");
  for (const [k, val] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || typeof val !== "string" || val.includes("\0")) throw bad(`bad env entry ${JSON.stringify(k)}`);
  }
  return env as Record<string, string>;
}
