/**
 * Retention for finished threads, so the store does not only grow.
 *
 * - **Compact** every finished thread (completed, incomplete, failed) to its latest checkpoint
 *   (the checkpointer's `compactThread`): `show` (plan, files, report) and `resume` need nothing
 *   older; the time-travel history is what goes.
 * - **Expire** a finished thread whose last event is older than the maximum age
 *   (`VIBEWRITER_EXPIRE_AFTER`, default 30 days; `never` keeps them): its checkpoints, its event
 *   log, its files (`threads/<id>/…` in the Object Store: workspace, report, source manifest), its
 *   remembered run options and its tool-effect journal.
 *
 * Never touched: threads that run or wait for the owner (interrupted: a payment decision), the
 * audit ledger, payment records and mandates (audit), published Choir reports, shared sources and
 * long-term memory. Which threads exist and their status come from the caller (the agent layer
 * reads them from events), so this file knows only the policy and the stores.
 */
import type { Backbone } from "./backbone.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { Names } from "./streams.ts";

/** Statuses of a thread whose runs have ended and that waits for nobody. */
export const FINISHED_STATUSES: readonly string[] = ["completed", "incomplete", "failed"];

/** Default maximum age of a finished thread: 30 days after its last event. */
export const DEFAULT_EXPIRE_AFTER = "30d";

export interface RetentionPolicy {
  /** Finished threads whose last event is older than this are expired; undefined: never. */
  expireAfterMs: number | undefined;
}

/** What retention needs to know of a thread. */
export interface ThreadRecord {
  threadId: string;
  status: string;
  /** ISO time of its last event. */
  updatedAt?: string;
}

export interface RetentionPlan {
  /** Finished, younger than the age: compacted to their latest checkpoint. */
  compact: string[];
  /** Finished and older than the age: deleted. */
  expire: string[];
  /** Running or waiting for the owner: left alone. */
  kept: string[];
}

export interface RetentionResult extends RetentionPlan {
  /** Checkpoints dropped by compaction, per thread (0: already compact). */
  compacted: Record<string, number>;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d", "12h", "90m", "45s", "2w" → ms; "never" → undefined. Anything else is an error naming the forms. */
export function parseAge(text: string, what = "an age"): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "never") return undefined;
  const m = /^(\d+)([smhdw])$/.exec(t);
  if (!m) {
    throw new NatsBackboneError(
      NatsErrorCode.InvalidArgument,
      `${what} must be a whole number with a unit (s, m, h, d, w), e.g. 30d or 12h, or "never"; got "${text}"`,
    );
  }
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** The policy from `VIBEWRITER_EXPIRE_AFTER` (default 30d), or from `--older-than` when given. */
export function retentionPolicy(env: NodeJS.ProcessEnv, olderThan?: string): RetentionPolicy {
  if (olderThan !== undefined) return { expireAfterMs: parseAge(olderThan, "--older-than") };
  const fromEnv = env.VIBEWRITER_EXPIRE_AFTER?.trim();
  return { expireAfterMs: parseAge(fromEnv || DEFAULT_EXPIRE_AFTER, "VIBEWRITER_EXPIRE_AFTER") };
}

/** Which thread gets what, at `now`. A finished thread with no time is compacted, never expired. */
export function planRetention(threads: readonly ThreadRecord[], policy: RetentionPolicy, now = Date.now()): RetentionPlan {
  const plan: RetentionPlan = { compact: [], expire: [], kept: [] };
  for (const t of threads) {
    if (!FINISHED_STATUSES.includes(t.status)) {
      plan.kept.push(t.threadId);
      continue;
    }
    const at = t.updatedAt ? Date.parse(t.updatedAt) : Number.NaN;
    const expired = policy.expireAfterMs !== undefined && Number.isFinite(at) && now - at >= policy.expireAfterMs;
    (expired ? plan.expire : plan.compact).push(t.threadId);
  }
  return plan;
}

/** The stores retention works on (a runtime backbone: only the runtime may delete). */
export type RetentionBackbone = Pick<Backbone, "checkpointer" | "events" | "artifacts" | "store" | "jsm">;

/** Carry out a plan: compact, then expire, thread by thread (a failure stops at that thread, naming it). */
export async function applyRetention(b: RetentionBackbone, plan: RetentionPlan): Promise<RetentionResult> {
  const compacted: Record<string, number> = {};
  for (const id of plan.compact) {
    compacted[id] = (await step(id, "compact", () => b.checkpointer.compactThread(id))).removed;
  }
  for (const id of plan.expire) await step(id, "expire", () => expireThread(b, id));
  return { ...plan, compacted };
}

async function step<T>(threadId: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    throw new NatsBackboneError(
      NatsBackboneError.isInstance(cause) ? cause.code : NatsErrorCode.WriteFailed,
      `cannot ${what} thread ${threadId}: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
  }
}

/** KV namespaces that hold something of one thread. */
const RUN_OPTIONS_NAMESPACE = ["vibewriter", "run-options"];
const effectsNamespace = (threadId: string) => ["vibewriter", "effects", threadId];

/**
 * Delete everything of one thread except what audit keeps. Events go last: while any of the rest
 * is left, the thread still shows up in `threads`, so an interrupted expiry is found and redone.
 */
export async function expireThread(b: RetentionBackbone, threadId: string): Promise<void> {
  await b.checkpointer.deleteThread(threadId);
  for (const a of await b.artifacts.list(`threads/${threadId}/`)) await b.artifacts.delete(a.name);
  await b.store.delete(RUN_OPTIONS_NAMESPACE, threadId);
  for (;;) {
    const items = await b.store.search(effectsNamespace(threadId), { limit: 1000 });
    if (items.length === 0) break;
    for (const item of items) await b.store.delete(item.namespace, item.key);
  }
  await b.jsm.streams.purge(Names.eventsStream, { filter: `${b.events.threadSubject(threadId)}.>` });
}
