/**
 * Runs `bin/vibewriter.js` as a child process (a real process, as a user runs it) and tracks the
 * processes it starts (QEMU), so a test that SIGKILLs the CLI can clean up what the CLI could not.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/vibewriter.js", import.meta.url));

export interface CliChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout contains `text` (rejects if the process exits first). */
  waitForOutput(text: string | RegExp): Promise<void>;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv, opts: { stdin?: boolean } = {}): CliChild {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  if (!opts.stdin) child.stdin!.end(); // commands that read stdin see EOF, not a hang
  let out = "";
  let err = "";
  const waiters: { match: string | RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (typeof w.match === "string" ? out.includes(w.match) : w.match.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`vibewriter ${args.join(" ")} exited (${code ?? signal}) before printing ${w.match}:\n${out}\n${err}`));
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput: (match) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ match, resolve, reject });
        check();
        if (child.exitCode !== null || child.signalCode !== null) {
          // Already gone: the close handler has run or will run and reject.
        }
      }),
  };
}

/** Pids of every live descendant of `pid` (children, grandchildren…), from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // The command name may contain spaces and parentheses: fields start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(name), Number(fields[1]));
    } catch {
      // The process exited while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

/** SIGKILLs pids that are still alive (those a killed CLI left behind). */
export function killAll(pids: readonly number[]): number {
  let killed = 0;
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
      killed++;
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** The command line of a live process ("" when it is gone). */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Live QEMU processes among `pids` (zombies waiting to be reaped have an empty command line). */
export function liveQemus(pids: readonly number[]): number[] {
  return pids.filter((p) => commandOf(p).includes("qemu-system"));
}
