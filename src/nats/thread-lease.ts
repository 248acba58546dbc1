/**
 * One runner per thread, on every machine of the cluster: a lease per thread in the KV bucket
 * `Names.leasesBucket`, taken and renewed by compare-and-set on the entry's revision.
 *
 * - **Take**: `create` when the key is absent, `update(key, v, revision)` when the entry is a
 *   released marker, or when its holder stopped renewing for longer than its TTL (a takeover).
 *   Two acquirers racing on one revision: the server accepts exactly one write.
 * - **Renew**: `update` on our last revision every TTL/3. A failed compare-and-set means another
 *   process took the lease: `lost` rejects. So does a TTL without one successful renewal (NATS
 *   unreachable), counted from when the last successful renewal was *sent*, which is never later
 *   than the server's timestamp on it: by the time anyone may take the lease over, the old holder
 *   has already given it up.
 * - **Release**: `update` to a released marker on our revision (a lost lease is not touched).
 *
 * Expiry is judged with the server's clock only, never against another machine's: an entry is
 * expired when the age of its server timestamp (`created`), measured against a fresh server
 * timestamp (a write to the bucket's `clock` key, read back from the stream leader), is at least
 * the holder's TTL plus a margin. Both timestamps come from the server, so two hosts whose clocks
 * disagree still agree on the age; the margin absorbs a holder whose timers run late (a loaded
 * machine) and, on a cluster, a change of stream leader between the two writes. Watching the
 * revision for a whole TTL would also avoid the clocks, but a fresh process (`vibewriter resume`
 * after a crash) would then wait a TTL before every takeover; this answers at once.
 *
 * One shortcut, without waiting for the TTL: a holder on this very machine and pid namespace
 * (same kernel boot id, same `/proc/self/ns/pid`) whose pid no longer exists is dead, so its lease
 * is taken over at once (`vibewriter resume` right after a crashed run). A pid reused by another
 * process only makes us wait for the TTL.
 *
 * nats-server 2.9 ignores per-key TTLs (NOTES.md): nothing here relies on the server expiring a
 * lease. The bucket's `max_age` (a day) only sweeps old released markers and clock writes; a live
 * lease is rewritten every TTL/3.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { JetStreamApiError, StorageType, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import { pidAlive } from "../config/index.ts";
import { CodedError } from "../errors.ts";
import { WRONG_LAST_SEQUENCE, WRONG_LAST_SEQUENCE_CONSTANT } from "./jetstream-codes.ts";
import { Names } from "./streams.ts";
import { createWhileSettling } from "./settle.ts";
import { encodeToken } from "./subject-token.ts";

/** Who holds a thread's lease: shown to anyone refused. */
export interface LeaseHolder {
  /** Unique per holder (a worker's id, or a run process's own). */
  id: string;
  host: string;
  pid: number;
  kind: "run" | "worker";
}

export const LeaseErrorCode = {
  /** A live holder has the thread's lease. */
  Held: "lease_held",
  /** Our lease was taken over, or could not be renewed within its TTL. */
  Lost: "lease_lost",
  /** Bad TTL, thread id or holder. */
  InvalidArgument: "invalid_argument",
} as const;
export type LeaseErrorCode = (typeof LeaseErrorCode)[keyof typeof LeaseErrorCode];

/**
 * Refused: `holder` runs the thread now, and last renewed the lease `renewedAgoMs` ago (server
 * time). Should it stop renewing, the lease can be taken over in `retryInMs` at the earliest.
 */
export class LeaseHeldError extends CodedError<typeof LeaseErrorCode.Held> {
  static override readonly errorName = "LeaseHeldError";
  constructor(
    readonly threadId: string,
    readonly holder: LeaseHolder,
    readonly renewedAgoMs: number,
    readonly retryInMs: number,
  ) {
    super(LeaseErrorCode.Held, `thread ${threadId} is being run by ${describeHolder(holder)}, lease renewed ${(renewedAgoMs / 1000).toFixed(1)} s ago`);
  }
}

export class LeaseLostError extends CodedError<typeof LeaseErrorCode.Lost> {
  static override readonly errorName = "LeaseLostError";
  constructor(
    readonly threadId: string,
    message: string,
    /** The process that took it, when known. */
    readonly takenBy?: LeaseHolder,
  ) {
    super(LeaseErrorCode.Lost, message);
  }
}

export class LeaseArgumentError extends CodedError<typeof LeaseErrorCode.InvalidArgument> {
  static override readonly errorName = "LeaseArgumentError";
}

/** "worker on host h (pid 12, id w-1)". */
export function describeHolder(h: LeaseHolder): string {
  return `${h.kind === "worker" ? "a worker" : "a run"} on host ${h.host} (pid ${h.pid}, id ${h.id})`;
}

/** Short for a ~10 s takeover: expired TTL + margin (7.5 s) after the last renewal (every 2 s). */
export const DEFAULT_LEASE_TTL_MS = 6_000;
const MIN_TTL_MS = 500;
const MAX_TTL_MS = 3_600_000;
/** Released markers and clock writes are swept after this (a live lease is rewritten far sooner). */
const BUCKET_MAX_AGE_MS = 24 * 3_600_000;
/** A holder gone quiet this much past its TTL is surely gone (late timers; leader change on a cluster). */
export function expiryMarginMs(ttlMs: number): number {
  return Math.min(5_000, Math.max(1_000, Math.round(ttlMs / 4)));
}
const CLOCK_KEY = "clock";
/** Compare-and-set losses in a row before `acquire` reports the winner as the holder. */
const MAX_RACES = 5;

/** The KV value of a thread's lease. `ttlMs` is the holder's own: others judge its expiry by it. */
interface LeaseRecord {
  v: 1;
  holder: LeaseHolder;
  ttlMs: number;
  /** Where `holder.pid` means something: kernel boot id and pid namespace (Linux). */
  pidSpace?: string;
  /** Written on release: the thread is free. */
  released?: true;
}

export interface ThreadLease {
  readonly threadId: string;
  readonly holder: LeaseHolder;
  /** Taken from a holder that had stopped renewing (a crashed process, a machine gone). */
  readonly takenOver: boolean;
  /** The holder we took it from, when `takenOver`. */
  readonly previous?: LeaseHolder;
  /** When `takenOver`: how long the previous holder had not renewed (server time). */
  readonly previousSilentMs?: number;
  /** Rejects with `LeaseLostError` when the lease is lost; never settles otherwise. */
  readonly lost: Promise<never>;
  /** Stops renewing and frees the thread. Idempotent; never throws (an unreleased lease expires). */
  release(): Promise<void>;
}

export interface ThreadLeasesOptions {
  /** Replicas of the bucket (R3 on a cluster). Default 1. */
  replicas?: number;
  /** How long a holder that stopped renewing keeps the thread. Default 6 s. */
  ttlMs?: number;
}

export class ThreadLeases {
  private constructor(
    private readonly kv: KV,
    readonly ttlMs: number,
  ) {}

  static async open(nats: { js: JetStreamClient; jsm: JetStreamManager }, opts: ThreadLeasesOptions = {}): Promise<ThreadLeases> {
    const ttlMs = opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!Number.isFinite(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
      throw new LeaseArgumentError(LeaseErrorCode.InvalidArgument, `the lease TTL must be ${MIN_TTL_MS} ms to ${MAX_TTL_MS / 60_000} min (got ${ttlMs} ms)`);
    }
    const kv = await createWhileSettling(() => new Kvm(nats.js).create(Names.leasesBucket, {
      history: 1,
      replicas: opts.replicas ?? 1,
      storage: StorageType.File,
      ttl: BUCKET_MAX_AGE_MS,
      // Reads from the stream leader: a replica's direct get may lag behind the last renewal.
      allow_direct: false,
      description: "Vibewriter: who runs each thread now (thread-lease.ts)",
    }));
    return new ThreadLeases(kv, ttlMs);
  }

  /**
   * Takes the thread's lease (free, released, or expired); throws `LeaseHeldError` while a live
   * holder has it. Of several processes racing for one thread, exactly one gets it.
   */
  async acquire(threadId: string, holder: LeaseHolder): Promise<ThreadLease> {
    checkHolder(holder);
    const key = leaseKey(threadId);
    const mine = encode(this.record(holder));
    for (let race = 0; race < MAX_RACES; race++) {
      const entry = await this.kv.get(key);
      // Our TTL counts from before the write (see the header): never later than its server time.
      let sentAt = performance.now();
      try {
        if (!entry) {
          const rev = await this.kv.create(key, mine);
          return this.lease(threadId, holder, key, rev, sentAt, undefined);
        }
        const rec = entry.operation === "PUT" ? decode(entry) : undefined;
        if (entry.operation !== "PUT" || rec?.released) {
          const rev = await this.kv.update(key, mine, entry.revision);
          return this.lease(threadId, holder, key, rev, sentAt, undefined);
        }
        // A foreign value is judged by our TTL: it expires like any silent holder.
        const current = rec?.holder ?? { id: "unknown", host: "unknown", pid: 0, kind: "run" as const };
        const ageMs = await this.ageOf(entry);
        const ttlMs = rec?.ttlMs ?? this.ttlMs;
        const expiresInMs = ttlMs + expiryMarginMs(ttlMs) - ageMs;
        if (expiresInMs > 0 && !(rec && this.diedHere(rec))) throw new LeaseHeldError(threadId, current, ageMs, expiresInMs);
        sentAt = performance.now();
        const rev = await this.kv.update(key, mine, entry.revision);
        return this.lease(threadId, holder, key, rev, sentAt, current, ageMs);
      } catch (e) {
        // Someone wrote between our read and our write: look again (they probably hold it now).
        if (!isCasFailure(e)) throw e;
      }
    }
    const now = await this.holderOf(threadId);
    const unknown: LeaseHolder = { id: "unknown", host: "unknown", pid: 0, kind: "run" };
    throw new LeaseHeldError(threadId, now ?? unknown, now?.renewedAgoMs ?? 0, this.ttlMs);
  }

  /** Who holds the thread now (undefined when free or released), and how long ago they renewed (server time). */
  async holderOf(threadId: string): Promise<(LeaseHolder & { renewedAgoMs: number; expired: boolean }) | undefined> {
    const entry = await this.kv.get(leaseKey(threadId));
    if (!entry || entry.operation !== "PUT") return undefined;
    const rec = decode(entry);
    if (!rec || rec.released) return undefined;
    // Only shown (never decides a takeover): without the right to write the clock, the local clock will do.
    const ageMs = await this.ageOf(entry).catch(() => Math.max(0, Date.now() - entry.created.getTime()));
    return { ...rec.holder, renewedAgoMs: ageMs, expired: ageMs >= rec.ttlMs + expiryMarginMs(rec.ttlMs) };
  }

  private record(holder: LeaseHolder, released?: true): LeaseRecord {
    return { v: 1, holder, ttlMs: this.ttlMs, ...(PID_SPACE ? { pidSpace: PID_SPACE } : {}), ...(released ? { released } : {}) };
  }

  /** The holder ran in our pid space and its process is gone. */
  private diedHere(rec: LeaseRecord): boolean {
    return PID_SPACE !== undefined && rec.pidSpace === PID_SPACE && rec.holder.pid > 0 && rec.holder.pid !== process.pid && !pidAlive(rec.holder.pid);
  }

  /** Age of an entry on the server's clock: a fresh server timestamp minus the entry's. */
  private async ageOf(entry: KvEntry): Promise<number> {
    await this.kv.put(CLOCK_KEY, new Uint8Array(0));
    // Whatever the leader returns was stored after our write, before our read: at most "now".
    const clock = await this.kv.get(CLOCK_KEY);
    const now = clock?.created.getTime() ?? Date.now();
    return Math.max(0, now - entry.created.getTime());
  }

  private lease(threadId: string, holder: LeaseHolder, key: string, revision: number, sentAt: number, previous: LeaseHolder | undefined, previousSilentMs?: number): ThreadLease {
    return new HeldLease(this.kv, threadId, key, revision, this.record(holder), sentAt, previous, previousSilentMs);
  }
}

/** A lease we hold: renewed on a timer until released or lost. */
class HeldLease implements ThreadLease {
  readonly holder: LeaseHolder;
  readonly takenOver: boolean;
  private readonly ttlMs: number;
  readonly lost: Promise<never>;
  private lose!: (e: LeaseLostError) => void;
  /** Renewals stopped (released or lost). */
  private done = false;
  private lostAlready = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly kv: KV,
    readonly threadId: string,
    private readonly key: string,
    private revision: number,
    private readonly rec: LeaseRecord,
    sentAt: number,
    readonly previous: LeaseHolder | undefined,
    readonly previousSilentMs?: number,
  ) {
    this.holder = rec.holder;
    this.ttlMs = rec.ttlMs;
    this.takenOver = previous !== undefined;
    this.lost = new Promise<never>((_, reject) => (this.lose = reject));
    this.lost.catch(() => {}); // a holder that never listens must not crash the process
    this.armDeadline(sentAt);
    this.scheduleRenewal(this.ttlMs / 3);
  }

  async release(): Promise<void> {
    if (this.done) return;
    this.stop();
    await this.renewing;
    if (this.lostAlready) return;
    await this.kv.update(this.key, encode({ ...this.rec, released: true }), this.revision).catch(() => {
      // Lost meanwhile, or NATS unreachable: the lease then expires after its TTL.
    });
  }

  private stop(): void {
    this.done = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.deadline);
  }

  private fail(e: LeaseLostError): void {
    if (this.lostAlready) return;
    this.lostAlready = true;
    this.stop();
    this.lose(e);
  }

  /** Lost when no renewal sent after `sentAt` succeeds within the TTL. */
  private armDeadline(sentAt: number): void {
    clearTimeout(this.deadline);
    const left = Math.max(0, sentAt + this.ttlMs - performance.now());
    this.deadline = setTimeout(() => {
      this.fail(new LeaseLostError(this.threadId, `the lease on thread ${this.threadId} could not be renewed for ${this.ttlMs / 1000} s (NATS unreachable?): another process may take the thread over`));
    }, left);
    this.deadline.unref();
  }

  private scheduleRenewal(inMs: number): void {
    if (this.done) return;
    this.renewTimer = setTimeout(() => {
      this.renewing = this.renew().finally(() => (this.renewing = undefined));
    }, inMs);
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    if (this.done) return;
    const sentAt = performance.now();
    try {
      const rev = await this.kv.update(this.key, encode(this.rec), this.revision);
      if (this.done) {
        this.revision = rev; // release() writes on top of it
        return;
      }
      this.revision = rev;
      this.armDeadline(sentAt);
      this.scheduleRenewal(this.ttlMs / 3);
    } catch (e) {
      if (isCasFailure(e)) {
        const now = await this.kv.get(this.key).catch(() => null);
        const by = now?.operation === "PUT" ? decode(now)?.holder : undefined;
        this.fail(new LeaseLostError(this.threadId, `the lease on thread ${this.threadId} was taken over${by ? ` by ${describeHolder(by)}` : ""}`, by));
        return;
      }
      // NATS unreachable or slow: try again soon; the deadline decides when it is lost.
      this.scheduleRenewal(Math.max(100, this.ttlMs / 10));
    }
  }
}

/** The thread's key: `thread.<token>` (KV keys allow only `[-/=.\w]`). */
function leaseKey(threadId: string): string {
  if (typeof threadId !== "string" || threadId === "") throw new LeaseArgumentError(LeaseErrorCode.InvalidArgument, "a lease needs a thread id");
  return `thread.${encodeToken(threadId)}`;
}

function checkHolder(h: LeaseHolder): void {
  const ok = h && typeof h.id === "string" && h.id !== "" && typeof h.host === "string" && Number.isInteger(h.pid) && (h.kind === "run" || h.kind === "worker");
  if (!ok) throw new LeaseArgumentError(LeaseErrorCode.InvalidArgument, `a lease holder needs an id, host, pid and kind "run" or "worker" (got ${JSON.stringify(h)?.slice(0, 200)})`);
}

/** This process as a holder of `kind`, with a fresh id. */
export function thisProcess(kind: LeaseHolder["kind"], id: string = `${kind}-${randomUUID().slice(0, 8)}`): LeaseHolder {
  return { id, host: hostname(), pid: process.pid, kind };
}

function encode(r: LeaseRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(r));
}

function decode(entry: KvEntry): LeaseRecord | undefined {
  try {
    const r = entry.json<LeaseRecord>();
    const ok = r && r.v === 1 && typeof r.ttlMs === "number" && r.ttlMs > 0 && r.holder && typeof r.holder.id === "string";
    return ok ? r : undefined;
  } catch {
    return undefined;
  }
}

/** This machine's boot and pid namespace, where a pid names one process (undefined off Linux). */
const PID_SPACE: string | undefined = (() => {
  try {
    return `${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}/${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    return undefined;
  }
})();

function isCasFailure(e: unknown): boolean {
  if (e instanceof JetStreamApiError) return e.code === WRONG_LAST_SEQUENCE || e.code === WRONG_LAST_SEQUENCE_CONSTANT;
  const code = (e as { code?: unknown; api_error?: { err_code?: unknown } })?.api_error?.err_code;
  return code === WRONG_LAST_SEQUENCE;
}
