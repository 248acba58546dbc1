/**
 * `vibewriter fleet` against a real nats-server, with two fake workers: each registers the real
 * `vibewriter` service (startRunService) reporting its own numbers, as `vibewriter worker` does.
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

const worker = (id: string, host: string, inFlight: string[]): WorkerStats => ({
  workerId: id,
  host,
  pid: 1000 + inFlight.length,
  concurrency: 2,
  inFlight,
  finished: 5,
  failed: 1,
  takeovers: inFlight.length,
  vms: inFlight.length + 1,
});

describe("vibewriter fleet", () => {
  let nats: TestNats;
  let dir: string;
  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url, VIBEWRITER_STATE_DIR: join(dir, "state") });
  const fleet = async (json: boolean) => {
    const io = captureIo(env());
    expect(await main(["fleet", ...(json ? ["--json"] : [])], io)).toBe(0);
    return io.out();
  };

  beforeAll(async () => {
    nats = await startTestNats();
    dir = await mkdtemp(join(tmpdir(), "vw-fleet-"));
  });
  afterAll(async () => {
    await nats?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("with no queue and no worker yet says so", async () => {
    expect(JSON.parse(await fleet(true))).toEqual({ queueDepth: null, workers: [] });
    expect(await fleet(false)).toBe("queue: not created yet (no submit and no worker so far)\nworkers: none answered (start one: vibewriter worker)\n");
  });

  it("shows the queue's depth and every worker that answers STATS, with its runs in flight", async () => {
    const queue = await RunQueue.open(nats.backbone);
    for (const id of ["f-1", "f-2", "f-3"]) await queue.submit({ v: 1, kind: "run", threadId: id, task: "t", submittedAt: new Date().toISOString() });
    const a = await startRunService(nats.backbone, { queue, artifacts: nats.backbone.artifacts, worker: () => worker("w-a", "host-a", ["f-1", "f-2"]) });
    const b = await startRunService(nats.backbone, { queue, artifacts: nats.backbone.artifacts, worker: () => worker("w-b", "host-b", []) });
    try {
      const view = JSON.parse(await fleet(true)) as FleetView;
      expect(view.queueDepth).toBe(3);
      expect(view.workers.map((w) => ({ ...w, serviceId: typeof w.serviceId }))).toEqual([
        { ...worker("w-a", "host-a", ["f-1", "f-2"]), serviceId: "string", version: "1.0.0" },
        { ...worker("w-b", "host-b", []), serviceId: "string", version: "1.0.0" },
      ]);
      expect(await fleet(false)).toBe(
        [
          "queue: 3 request(s) waiting or running",
          "workers: 2",
          "WORKER  HOST    PID   RUNS  FINISHED  FAILED  TAKEOVERS  VMS",
          "w-a     host-a  1002  2/2   5         1       2          3",
          "  running: f-1, f-2",
          "w-b     host-b  1000  0/2   5         1       0          1",
          "",
        ].join("\n"),
      );
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
