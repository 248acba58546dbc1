/**
 * A worker's own numbers for the service's STATS (`vibewriter fleet`): the runs going on now with
 * their ages, how the ended ones went and how long they took, its lease takeovers. Fed by the
 * worker's run loop; read on every STATS request, so reading is cheap and allocates little.
 */
import type { PoolStats } from "../sandbox/index.ts";
import type { RunningRun, VmPoolStats, WallTimeStats, WorkerStats } from "../app/index.ts";
import { WorkerOutcome, type WorkerRunReport } from "./worker-run.ts";

type Identity = Pick<WorkerStats, "workerId" | "host" | "pid" | "concurrency">;

export class WorkerMetrics {
  private readonly running = new Map<string, { kind: RunningRun["kind"]; since: number; takenOver: boolean }>();
  finished = 0;
  failed = 0;
  takeovers = 0;
  private wall: WallTimeStats | null = null;
  private wallSum = 0;
  private lastTakeover: WorkerStats["lastTakeover"];

  constructor(
    private readonly identity: Identity,
    /** Performance clock (ms); a test may pass its own. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A run started here; `takenOver` with the holder it was taken from and how long it had been silent. */
  started(threadId: string, kind: RunningRun["kind"], takeover?: { from: string; silentMs: number }): void {
    this.running.set(threadId, { kind, since: this.now(), takenOver: takeover !== undefined });
    if (!takeover) return;
    this.takeovers++;
    this.lastTakeover = { threadId, from: takeover.from, silentMs: Math.round(takeover.silentMs), at: new Date().toISOString() };
  }

  /** A request ended (whatever its outcome); only runs that finished or failed count towards wall time. */
  ended(r: WorkerRunReport): void {
    this.running.delete(r.threadId);
    if (r.outcome !== WorkerOutcome.Finished && r.outcome !== WorkerOutcome.Failed) return;
    if (r.outcome === WorkerOutcome.Finished) this.finished++;
    else this.failed++;
    const runs = (this.wall?.runs ?? 0) + 1;
    this.wallSum += r.wallMs;
    this.wall = { runs, last: r.wallMs, mean: Math.round(this.wallSum / runs), max: Math.max(this.wall?.max ?? 0, r.wallMs) };
  }

  /** The STATS answer: `inFlight` are the requests being handled (some may be waiting for a lease). */
  stats(inFlight: string[], pool: PoolStats): WorkerStats {
    const now = this.now();
    return {
      ...this.identity,
      inFlight,
      finished: this.finished,
      failed: this.failed,
      takeovers: this.takeovers,
      vms: pool.idle + pool.starting + pool.handedOut,
      running: [...this.running].map(([threadId, r]) => ({ threadId, kind: r.kind, ageMs: Math.round(now - r.since), takenOver: r.takenOver })),
      wallMs: this.wall && { ...this.wall },
      pool: poolStats(pool),
      ...(this.lastTakeover ? { lastTakeover: this.lastTakeover } : {}),
    };
  }
}

export function poolStats(p: PoolStats): VmPoolStats {
  return { inUse: p.handedOut, restoring: p.starting, spare: p.idle, restored: p.restored, failed: p.failed };
}
