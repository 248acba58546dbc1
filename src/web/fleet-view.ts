/** The fleet as the console shows it: the run queue's depth and each worker's STATS (see `vibewriter fleet`). */
import { JetStreamApiError } from "@nats-io/jetstream";
import { discoverWorkers } from "../app/index.ts";
import { type Backbone, runQueueDepth } from "../nats/index.ts";
import type { FleetViewJson } from "./api-types.ts";

/** Shorter than the CLI's: the page asks again on every refresh. */
const WAIT = { maxMs: 1_500, quietMs: 300 } as const;

export async function fleetView(backbone: Backbone): Promise<FleetViewJson> {
  const [depth, workers] = await Promise.all([
    runQueueDepth(backbone.jsm).catch((e: unknown) => {
      if (e instanceof JetStreamApiError && e.status === 404) return undefined; // no queue yet
      throw e;
    }),
    discoverWorkers(backbone.nc, WAIT),
  ]);
  const pools = workers.flatMap((w) => (w.pool ? [w.pool] : []));
  return {
    ...(pools.length ? { pool: { ready: pools.reduce((n, p) => n + p.spare, 0), starting: pools.reduce((n, p) => n + p.restoring, 0) } } : {}),
    workers: workers.map((w) => ({ id: w.workerId, host: w.host, runsInFlight: w.inFlight.length, concurrency: w.concurrency, takeovers: w.takeovers })),
    ...(depth !== undefined ? { queueDepth: depth } : {}),
  };
}
