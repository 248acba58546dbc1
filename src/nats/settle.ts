/**
 * Creating the same stream or bucket from several processes at once on a cluster (workers
 * starting together) races in JetStream's meta layer: on nats-server 2.9 one of the creators may
 * get no answer in time, or "stream not found" from an add the meta leader is still applying. The
 * stream exists a moment later; asking again settles it. Anything else is not retried.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { isNatsOutage } from "./outage.ts";
import { retryWhile } from "./retry.ts";

/** Long enough for a meta-leader election on a loaded machine. */
const SETTLE_MS = 20_000;

/** Runs `create` (idempotent: create-or-open) again while the cluster settles a concurrent creation. */
export function createWhileSettling<T>(create: () => Promise<T>, settleMs = SETTLE_MS): Promise<T> {
  return retryWhile(create, { retryable: isCreationRace, withinMs: settleMs });
}

function isCreationRace(err: unknown): boolean {
  if (isNatsOutage(err)) return true;
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = (e as Error & { cause?: unknown }).cause, depth++) {
    if (e instanceof JetStreamApiError && e.status === 404) return true;
  }
  return false;
}
