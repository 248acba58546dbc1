/**
 * `vibewriter fleet`: the run queue's depth and every worker that answers the service's STATS
 * (`$SRV.STATS.vibewriter`) within a bounded wait: id, host, runs in flight, finished, failed,
 * takeovers, VMs; under each worker its VM pool, wall time per run, runs in flight with their ages
 * and its last takeover. Read-only: the viewer identity is enough.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { runQueueDepth } from "../../nats/index.ts";
import { discoverWorkers, type FleetWorker, type WorkerStats } from "../../app/index.ts";
import { openCliBackbone } from "../backbone.ts";
import { printJson, type CliContext } from "../context.ts";
import type { CommandPlan } from "../plan.ts";

export interface FleetView {
  /** Requests waiting or running; null when no worker or submit has created the queue yet. */
  queueDepth: number | null;
  workers: FleetWorker[];
}

export async function runFleet(plan: Extract<CommandPlan, { command: "fleet" }>, ctx: CliContext): Promise<number> {
  const backbone = await openCliBackbone(ctx, `vibewriter-fleet-${process.pid}`);
  const [queueDepth, workers] = await Promise.all([depthOrNull(backbone.jsm), discoverWorkers(backbone.nc)]);
  const view: FleetView = { queueDepth, workers };
  if (plan.json) printJson(ctx, view);
  else ctx.stdout.write(renderFleet(view));
  return 0;
}

async function depthOrNull(jsm: Parameters<typeof runQueueDepth>[0]): Promise<number | null> {
  try {
    return await runQueueDepth(jsm);
  } catch (e) {
    if (e instanceof JetStreamApiError && e.status === 404) return null;
    throw e;
  }
}

export function renderFleet(v: FleetView): string {
  const lines = [v.queueDepth === null ? "queue: not created yet (no submit and no worker so far)" : `queue: ${v.queueDepth} request(s) waiting or running`];
  if (v.workers.length === 0) {
    lines.push("workers: none answered (start one: vibewriter worker)");
    return lines.join("\n") + "\n";
  }
  const rows = [
    ["WORKER", "HOST", "PID", "RUNS", "FINISHED", "FAILED", "TAKEOVERS", "VMS"],
    ...v.workers.map((w) => [w.workerId, w.host, String(w.pid), `${w.inFlight.length}/${w.concurrency}`, String(w.finished), String(w.failed), String(w.takeovers), String(w.vms)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  lines.push(`workers: ${v.workers.length}`);
  rows.forEach((r, i) => {
    lines.push(r.map((c, j) => c.padEnd(widths[j]!)).join("  ").trimEnd());
    const w = v.workers[i - 1];
    if (w) lines.push(...workerDetail(w));
  });
  return lines.join("\n") + "\n";
}

/** Under a worker's row: its VM pool, run wall times, runs in flight with their ages, last takeover (each when it reports them). */
function workerDetail(w: WorkerStats): string[] {
  const out: string[] = [];
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (w.pool) out.push(`  VMs: ${w.pool.inUse} in use, ${w.pool.restoring} restoring, ${w.pool.spare} spare (${w.pool.restored} restored, ${w.pool.failed} failed so far)`);
  if (w.wallMs) out.push(`  wall time per run: last ${sec(w.wallMs.last)}, mean ${sec(w.wallMs.mean)}, max ${sec(w.wallMs.max)} (${w.wallMs.runs} run(s))`);
  // Requests in flight but not started yet are waiting for their lease or their preparation.
  const started = new Map((w.running ?? []).map((r) => [r.threadId, r]));
  const inFlight = w.running ? [...w.running.map((r) => r.threadId), ...w.inFlight.filter((t) => !started.has(t))] : w.inFlight;
  const runs = inFlight.map((t) => {
    const r = started.get(t);
    return !w.running ? t : r ? `${t} (${r.kind}, ${sec(r.ageMs)}${r.takenOver ? ", taken over" : ""})` : `${t} (starting)`;
  });
  if (runs.length > 0) out.push(`  running: ${runs.join(", ")}`);
  const t = w.lastTakeover;
  if (t) out.push(`  last takeover: ${t.threadId} from ${t.from}, silent ${sec(t.silentMs)}, at ${t.at}`);
  return out;
}
