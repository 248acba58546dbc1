/**
 * The thread's lease for a CLI process (`run`, `resume`, `demo`, and the worker's runs): its TTL
 * from the environment, and a refusal the user can act on (who runs the thread, and since when).
 */
import { type Backbone, DEFAULT_LEASE_TTL_MS, describeHolder, LeaseHeldError, type LeaseHolder, type LeaseLostError, type ThreadLease, ThreadLeases } from "../nats/index.ts";
import { CliError, CliErrorCode } from "./errors.ts";

export const LEASE_TTL_ENV = "VIBEWRITER_LEASE_TTL_SEC";

const EMBEDDED_LEASE_TTL_MS = 30_000;

/**
 * The TTL when `VIBEWRITER_LEASE_TTL_SEC` is not set: 6 s on a NATS the operator runs (a worker on
 * another machine that dies is taken over within ~10 s); 30 s on the embedded server, which only
 * this machine reaches. There a runner that died is taken over at once by its gone pid, so the TTL
 * only times a hung process or an outage of the server itself, which its supervision restarts: at
 * a load of 15 a restart took longer than 6 s and the run it served lost its lease.
 */
export function defaultLeaseTtlMs(auth: Backbone["auth"]): number {
  return auth === "nkey" ? EMBEDDED_LEASE_TTL_MS : DEFAULT_LEASE_TTL_MS;
}

/** `VIBEWRITER_LEASE_TTL_SEC` (default: `defaultLeaseTtlMs`): how long a runner that died keeps its thread. */
export function leaseTtlMsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[LEASE_TTL_ENV]?.trim();
  if (!raw) return undefined;
  const sec = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || sec < 0.5 || sec > 3600) {
    throw new CliError(CliErrorCode.NotConfigured, `${LEASE_TTL_ENV}="${raw}" must be a number of seconds from 0.5 to 3600.`);
  }
  return Math.round(sec * 1000);
}

/** The process's lease table on the backbone, with the environment's TTL and the backbone's replicas. */
export function openThreadLeases(backbone: Pick<Backbone, "js" | "jsm" | "replicas" | "auth">, env: NodeJS.ProcessEnv): Promise<ThreadLeases> {
  const ttlMs = leaseTtlMsFromEnv(env) ?? defaultLeaseTtlMs(backbone.auth);
  return ThreadLeases.open(backbone, { replicas: backbone.replicas, ttlMs });
}

/** Takes the thread's lease, or says who runs it: a second runner on one thread is refused at once. */
export async function takeThreadLease(leases: ThreadLeases, threadId: string, holder: LeaseHolder): Promise<ThreadLease> {
  try {
    return await leases.acquire(threadId, holder);
  } catch (e) {
    if (!LeaseHeldError.isInstance(e)) throw e;
    throw new CliError(
      CliErrorCode.Failed,
      `Thread ${threadId} is already running: ${describeHolder(e.holder)} holds its lease, renewed ${Math.round(e.renewedAgoMs / 1000)} s ago.`,
      {
        cause: e,
        fix: `Wait for that run to end (vibewriter show ${threadId}). If it died, its lease expires ${Math.ceil(e.retryInMs / 1000)} s from now; then resume the thread.`,
      },
    );
  }
}

/** A lost lease stops the run: another process runs the thread now, or may at any moment. */
export function leaseLostError(threadId: string, e: LeaseLostError): CliError {
  return new CliError(CliErrorCode.Failed, `Stopped: ${e.message}. This process no longer runs thread ${threadId}.`, {
    cause: e,
    fix: `See who runs it now: vibewriter show ${threadId}`,
  });
}
