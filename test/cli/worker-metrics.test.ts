/**
 * A worker's STATS numbers (no server, no VM): runs going on with their ages, wall time of the
 * runs that ended, takeovers, the VM pool. The clock is the test's own.
 */
import { WorkerMetrics } from "../../src/cli/worker-metrics.ts";
import type { WorkerRunReport } from "../../src/cli/worker-run.ts";
import type { PoolStats } from "../../src/sandbox/pool.ts";

const identity = { workerId: "w-1", host: "h", pid: 7, concurrency: 2 };
const pool: PoolStats = { idle: 1, starting: 1, handedOut: 2, restored: 5, failed: 1 };
const report = (threadId: string, outcome: WorkerRunReport["outcome"], wallMs: number): WorkerRunReport => ({ threadId, kind: "run", outcome, takenOver: false, deliveryCount: 1, wallMs });

describe("WorkerMetrics", () => {
  it("before any run: nothing running, no wall time, the pool as the sandbox pool counts it", () => {
    const m = new WorkerMetrics(identity, () => 0);
    expect(m.stats([], pool)).toEqual({
      ...identity,
      inFlight: [],
      finished: 0,
      failed: 0,
      takeovers: 0,
      vms: 4,
      running: [],
      wallMs: null,
      pool: { inUse: 2, restoring: 1, spare: 1, restored: 5, failed: 1 },
    });
  });

  it("runs in flight with their ages; ended runs' wall time as last, mean, max; takeovers with the last one", () => {
    let now = 1_000;
    const m = new WorkerMetrics(identity, () => now);
    m.started("t-a", "run");
    now = 3_000;
    m.started("t-b", "resume", { from: "worker-dead", silentMs: 7_512.4 });
    now = 4_500;
    const s = m.stats(["t-a", "t-b", "t-c"], pool);
    expect(s.running).toEqual([
      { threadId: "t-a", kind: "run", ageMs: 3_500, takenOver: false },
      { threadId: "t-b", kind: "resume", ageMs: 1_500, takenOver: true },
    ]);
    expect(s.takeovers).toBe(1);
    expect(s.lastTakeover).toMatchObject({ threadId: "t-b", from: "worker-dead", silentMs: 7_512 });
    expect(Number.isNaN(Date.parse(s.lastTakeover!.at))).toBe(false);

    m.ended(report("t-a", "finished", 30_000));
    m.ended(report("t-b", "failed", 10_000));
    m.ended(report("t-c", "held", 5)); // never ran here: no wall time, no count
    const after = m.stats([], pool);
    expect(after).toMatchObject({ finished: 1, failed: 1, running: [], wallMs: { runs: 2, last: 10_000, mean: 20_000, max: 30_000 } });
  });

  it("a run handed back or whose lease was lost leaves the running list without counting as ended", () => {
    const m = new WorkerMetrics(identity, () => 0);
    m.started("t-a", "run");
    m.started("t-b", "run");
    m.ended(report("t-a", "handed_back", 100));
    m.ended(report("t-b", "lease_lost", 100));
    expect(m.stats([], pool)).toMatchObject({ finished: 0, failed: 0, running: [], wallMs: null });
  });
});
