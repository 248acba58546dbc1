/** `hello`: version handshake, and the guest clock set from the host's (snapshots leave it stale). */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { int } from "../args.ts";
import type { AgentContext } from "../context.ts";
import type { RequestContext } from "../handlers.ts";
import { AGENT_VERSION, PROTOCOL_VERSION, type HelloResult } from "../protocol.ts";

const run = promisify(execFile);
/** Drift tolerated before the clock is set. */
const MAX_SKEW_MS = 1000;

export async function handleHello(ctx: AgentContext, req: RequestContext): Promise<HelloResult> {
  const nowMs = int(req.args, "nowMs", 0);
  let clockSet = false;
  if (ctx.sandboxUser && Math.abs(Date.now() - nowMs) > MAX_SKEW_MS) clockSet = await setClock(nowMs);
  return {
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: AGENT_VERSION,
    roots: ctx.roots.map((r) => ({ path: r.path, writable: r.writable })),
    pid: process.pid,
    clockSet,
  };
}

/** Node cannot call clock_settime; coreutils' `date -s @secs` can (we are root in the VM). */
async function setClock(nowMs: number): Promise<boolean> {
  try {
    await run("date", ["-u", "-s", `@${(nowMs / 1000).toFixed(3)}`], { timeout: 5000 });
    return true;
  } catch (err) {
    process.stderr.write(`agent: could not set the clock: ${(err as Error).message}\n`);
    return false;
  }
}
