/**
 * Whether an error means "NATS did not answer in time" — a leader election on a cluster, a node
 * that died, a reconnect — rather than anything wrong with the work. Such a failure is not for
 * good: the same work, asked again once the cluster has a leader, succeeds.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import { AckRefusedError } from "./publish.ts";

export function isNatsOutage(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = (e as Error & { cause?: unknown }).cause, depth++) {
    if (e instanceof errors.TimeoutError || e instanceof errors.NoRespondersError) return true;
    if (e instanceof errors.RequestError && /timeout|no responders/i.test(e.message)) return true;
    if (e instanceof JetStreamApiError && (e.status === 503 || e.status === 408)) return true;
    if (AckRefusedError.isInstance(e) && (e.status === 503 || e.status === 408)) return true;
  }
  return false;
}
