/**
 * Sets the guest's wall clock. Node cannot call clock_settime and `date -s` can, but spawning it
 * from the agent forks the whole Node process, which costs hundreds of milliseconds under TCG
 * right after a restore. So the agent starts a small root shell once, at boot (it is in the
 * template snapshot), that runs `date` for each time it is given; setting the clock then forks
 * only that shell.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface ClockSetter {
  /** Sets the clock to `ms` since the epoch; false (and a line on stderr) when it failed. */
  set(ms: number): Promise<boolean>;
}

const SCRIPT = 'while read -r t; do date -u -s "@$t" >/dev/null && echo ok || echo fail; done';

/** Starts the helper (call as root, before lowering privileges). */
export function startClockHelper(): ClockSetter {
  let helper: ChildProcess | null = null;
  let lines = "";
  const waiting: ((ok: boolean) => void)[] = [];
  const start = (): ChildProcess => {
    const child = spawn("/bin/sh", ["-c", SCRIPT], { stdio: ["pipe", "pipe", "inherit"] });
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      lines += d;
      for (let nl = lines.indexOf("\n"); nl !== -1; nl = lines.indexOf("\n")) {
        const line = lines.slice(0, nl);
        lines = lines.slice(nl + 1);
        waiting.shift()?.(line === "ok");
      }
    });
    child.stdin!.on("error", () => {});
    child.once("error", () => {});
    child.once("exit", () => {
      helper = null;
      for (const w of waiting.splice(0)) w(false);
    });
    // Neither the helper nor its pipes keep the agent's event loop alive.
    child.unref();
    return child;
  };
  helper = start();
  return {
    async set(ms) {
      // A helper that died (it never should) is not restarted: that would fork Node again.
      if (!helper) return report(false, "the clock helper is gone");
      const ok = await new Promise<boolean>((resolve) => {
        waiting.push(resolve);
        helper!.stdin!.write(`${(ms / 1000).toFixed(3)}\n`);
      });
      return report(ok, "date -s failed");
    },
  };
}

function report(ok: boolean, why: string): boolean {
  if (!ok) process.stderr.write(`agent: could not set the clock: ${why}\n`);
  return ok;
}
