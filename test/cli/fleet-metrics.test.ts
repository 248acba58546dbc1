/**
 * `vibewriter fleet` with a worker that reports the fleet's metrics (real nats-server, the real
 * `vibewriter` service, the worker's numbers given): its VM pool, wall time per run, runs in
 * flight with their ages (and a request still waiting for its lease), its last takeover — in the
 * table's detail lines and whole in `--json`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import type { FleetView } from "../../src/cli/commands/fleet.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";
import { startRunService, type WorkerStats } from "../../src/app/run-service.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { captureIo } from "./capture.ts";

const STATS: WorkerStats = {
  workerId: "w-m",
  host: "host-m",
  pid: 31,
  concurrency: 3,
  inFlight: ["m-1", "m-2", "m-3"],
  finished: 4,
  failed: 1,
  takeovers: 1,
  vms: 4,
  running: [
    { threadId: "m-1", kind: "run", ageMs: 12_345, takenOver: false },
    { threadId: "m-2", kind: "resume", ageMs: 2_000, takenOver: true },
  ],
  wallMs: { runs: 5, last: 41_200, mean: 38_040, max: 45_100 },
  pool: { inUse: 2, restoring: 1, spare: 1, restored: 7, failed: 0 },
  lastTakeover: { threadId: "m-2", from: "worker-gone-1", silentMs: 7_600, at: "2026-12-02T06:55:12.000Z" },
};

describe("vibewriter fleet: the workers' metrics", () => {
  let nats: TestNats;
  let dir: string;
  const fleet = async (json: boolean) => {
    const io = captureIo({ PATH: process.env.PATH, NATS_URL: nats.server.url, VIBEWRITER_STATE_DIR: join(dir, "state") });
    expect(await main(["fleet", ...(json ? ["--json"] : [])], io)).toBe(0);
    return io.out();
  };

  beforeAll(async () => {
    nats = await startTestNats();
    dir = await mkdtemp(join(tmpdir(), "vw-fleet-metrics-"));
  });
  afterAll(async () => {
    await nats?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("shows each worker's VM pool, wall time per run, runs in flight with their ages and its last takeover", async () => {
    const queue = await RunQueue.open(nats.backbone);
    await queue.submit({ v: 1, kind: "run", threadId: "m-9", task: "t", submittedAt: new Date().toISOString() });
    const service = await startRunService(nats.backbone, { queue, artifacts: nats.backbone.artifacts, worker: () => STATS });
    try {
      const view = JSON.parse(await fleet(true)) as FleetView;
      expect(view.queueDepth).toBe(1);
      expect(view.workers).toEqual([{ ...STATS, serviceId: expect.any(String), version: "1.0.0" }]);
      expect(await fleet(false)).toBe(
        [
          "queue: 1 request(s) waiting or running",
          "workers: 1",
          "WORKER  HOST    PID  RUNS  FINISHED  FAILED  TAKEOVERS  VMS",
          "w-m     host-m  31   3/3   4         1       1          4",
          "  VMs: 2 in use, 1 restoring, 1 spare (7 restored, 0 failed so far)",
          "  wall time per run: last 41.2 s, mean 38.0 s, max 45.1 s (5 run(s))",
          "  running: m-1 (run, 12.3 s), m-2 (resume, 2.0 s, taken over), m-3 (starting)",
          "  last takeover: m-2 from worker-gone-1, silent 7.6 s, at 2026-12-02T06:55:12.000Z",
          "",
        ].join("\n"),
      );
    } finally {
      await service.stop();
    }
  });
});
