/**
 * The fleet's workers, as each answers the run service's STATS (`$SRV.STATS.vibewriter`) within a
 * bounded wait: `vibewriter fleet` and the console's fleet view read them.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { Names } from "../nats/index.ts";
import type { WorkerStats } from "./run-service.ts";

/** How long to collect answers at most, and how long a quiet spell after one ends it. */
export const FLEET_WAIT = { maxMs: 3_000, quietMs: 750 } as const;

export interface FleetWorker extends WorkerStats {
  /** The service instance's id (`nats micro` shows it). */
  serviceId: string;
  version: string;
}

/** Every worker's STATS answer that came within the wait (none: an empty list, not an error). */
export async function discoverWorkers(nc: NatsConnection, wait: { maxMs: number; quietMs: number } = FLEET_WAIT): Promise<FleetWorker[]> {
  const found = new Map<string, FleetWorker>();
  try {
    const answers = await nc.requestMany(`$SRV.STATS.${Names.serviceName}`, "", { strategy: "stall", maxWait: wait.maxMs, stall: wait.quietMs });
    for await (const m of answers) {
      const w = workerOf(m.data);
      if (w) found.set(w.serviceId, w);
    }
  } catch {
    // No responders (no worker at all) ends the request with an error: that is an empty fleet.
  }
  return [...found.values()].sort((a, b) => a.host.localeCompare(b.host) || a.workerId.localeCompare(b.workerId));
}

function workerOf(data: Uint8Array): FleetWorker | undefined {
  try {
    const r = JSON.parse(new TextDecoder().decode(data)) as { type?: string; id?: string; version?: string; endpoints?: { data?: unknown }[] };
    if (r.type !== "io.nats.micro.v1.stats_response" || typeof r.id !== "string") return undefined;
    const stats = r.endpoints?.map((e) => e.data).find(isWorkerStats);
    return stats ? { ...stats, serviceId: r.id, version: r.version ?? "" } : undefined;
  } catch {
    return undefined;
  }
}

function isWorkerStats(v: unknown): v is WorkerStats {
  const s = v as WorkerStats | null;
  return !!s && typeof s.workerId === "string" && typeof s.host === "string" && Array.isArray(s.inFlight) && typeof s.finished === "number";
}
