/** `hello`: version handshake, and the guest clock set from the host's (snapshots leave it stale). */
import { spawn } from "node:child_process";
import type { AgentContext } from "../context.ts";
import type { OpRequest } from "../request-context.ts";
import { AGENT_VERSION, PROTOCOL_VERSION, type HelloResult } from "../../protocol/index.ts";
import { setImmediate as nextTurn } from "node:timers/promises";

/** Drift tolerated before the clock is set. */
const MAX_SKEW_MS = 1000;
const CLOCK_TIMEOUT_MS = 5000;

export async function handleHello(ctx: AgentContext, req: OpRequest<"hello">): Promise<HelloResult> {
  const { nowMs } = req.args;
  ctx.tree.reseedTokens(nowMs.toString(36));
  let clockSet = false;
  if (ctx.sandboxUser && Math.abs(Date.now() - nowMs) > MAX_SKEW_MS) {
    // Not awaited: the reply goes out first, in this turn of the event loop (right after a restore, the helper's fork of `date`
    // would otherwise compete with it for the one vCPU); `exec` waits for the clock if it comes first.
    // After any setting still in flight (even one a template snapshot caught midway): the last
    // hello's time wins.
    const asked = performance.now();
    const clock = ctx.clock;
    const before: Promise<unknown> = ctx.clockSetting ?? Promise.resolve();
    const setting: Promise<unknown> = before
      .catch(() => {})
      .then((): Promise<unknown> => (clock ? nextTurn().then(() => clock.set(nowMs + (performance.now() - asked))) : setClockSoon(ctx, nowMs)))
      .finally(() => {
        if (ctx.clockSetting === setting) ctx.clockSetting = null;
      });
    ctx.clockSetting = setting;
    clockSet = true;
  }
  return {
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: AGENT_VERSION,
    roots: ctx.roots.map((r) => ({ path: r.path, writable: r.writable })),
    pid: process.pid,
    clockSet,
  };
}

/**
 * Without the clock helper (`clock.ts`; started in the VM): coreutils' `date -s @secs`, as root, spawned after this
 * turn of the event loop, so the hello's reply is written before the fork, and given the time the
 * host asked for plus what passed meanwhile.
 */
function setClockSoon(ctx: AgentContext, nowMs: number): Promise<void> {
  const asked = performance.now();
  return new Promise((resolve) => {
    setImmediate(() => {
      const target = nowMs + (performance.now() - asked);
      const fail = (why: string): void => {
        process.stderr.write(`agent: could not set the clock: ${why}\n`);
        resolve();
      };
      try {
        const child = ctx.privileges.asRoot(() =>
          spawn("date", ["-u", "-s", `@${(target / 1000).toFixed(3)}`], { stdio: ["ignore", "ignore", "inherit"], timeout: CLOCK_TIMEOUT_MS }),
        );
        child.once("error", (err) => fail(err.message));
        child.once("exit", (code, signal) => (code === 0 ? resolve() : fail(`date ended with ${signal ?? code}`)));
      } catch (err) {
        fail((err as Error).message);
      }
    });
  });
}
