import { createHash } from "node:crypto";
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { canonicalJson, type JsonValue } from "./canonical-json.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";

/** What a ledger entry records. */
export const LedgerEntryType = {
  Proposal: "proposal",
  Decision: "decision",
  Approval: "approval",
  Rejection: "rejection",
  /** The intent to sign, recorded (with the exact unsigned transaction) before the signer runs. */
  SigningIntent: "signing",
  Signature: "signature",
  Submission: "submission",
  SubmissionFailed: "submission_failed",
  /** A proposal id that was reused with different contents. */
  ReplayRefused: "replay_refused",
} as const;
export type LedgerEntryType = (typeof LedgerEntryType)[keyof typeof LedgerEntryType];

export interface LedgerEntry {
  v: 1;
  /** 0-based position in the chain. */
  index: number;
  at: string;
  type: LedgerEntryType;
  proposalId: string;
  data: { [key: string]: JsonValue };
  /** `hash` of the previous entry; 64 zeros for the first. */
  prev: string;
  /** sha256 hex of the canonical JSON of every other field. */
  hash: string;
}

export const GENESIS_HASH = "0".repeat(64);

export const LedgerNames = {
  stream: "VIBEWRITER_LEDGER",
  /** One subject, so expected-last-subject-sequence serialises appends (it is ignored on wildcards). */
  subject: "vibewriter.ledger.entry",
} as const;

export function hashEntry(entry: Omit<LedgerEntry, "hash">): string {
  const { v, index, at, type, proposalId, data, prev } = entry;
  return createHash("sha256").update(canonicalJson({ v, index, at, type, proposalId, data, prev })).digest("hex");
}

export const LedgerProblemKind = {
  /** A stream sequence or chain index is absent. */
  Missing: "missing",
  /** Entries are out of order (index or prev link points elsewhere). */
  Reordered: "reordered",
  /** The entry's content does not match its hash. */
  Altered: "altered",
  Malformed: "malformed",
} as const;
export type LedgerProblemKind = (typeof LedgerProblemKind)[keyof typeof LedgerProblemKind];

export interface LedgerProblem {
  kind: LedgerProblemKind;
  /** Stream sequence of the offending message. */
  seq: number;
  detail: string;
}

export interface LedgerVerification {
  ok: boolean;
  entries: number;
  /** Hash of the last good entry. */
  head: string;
  problems: LedgerProblem[];
}

export interface LedgerOptions {
  stream?: string;
  subject?: string;
  clock?: () => Date;
}

export function ledgerStreamConfig(stream: string, subject: string): Partial<StreamConfig> & { name: string } {
  return {
    name: stream,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    num_replicas: 1,
    duplicate_window: 2 * 60 * 1_000_000_000,
    // An audit log: the API refuses to delete or purge it.
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
  };
}

/**
 * The audit ledger: an append-only JetStream stream of hash-chained entries. Appends race safely
 * (optimistic concurrency on the subject's last sequence); `verify()` walks the stream and
 * reports every missing, reordered or altered entry.
 */
export class AuditLedger {
  readonly stream: string;
  readonly subject: string;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #clock: () => Date;

  private constructor(js: JetStreamClient, jsm: JetStreamManager, opts: LedgerOptions) {
    this.#js = js;
    this.#jsm = jsm;
    this.stream = opts.stream ?? LedgerNames.stream;
    this.subject = opts.subject ?? LedgerNames.subject;
    this.#clock = opts.clock ?? (() => new Date());
  }

  /** Opens the ledger, creating its stream when absent (idempotent). */
  static async open(nats: { js: JetStreamClient; jsm: JetStreamManager }, opts: LedgerOptions = {}): Promise<AuditLedger> {
    const ledger = new AuditLedger(nats.js, nats.jsm, opts);
    try {
      await nats.jsm.streams.info(ledger.stream);
    } catch (e) {
      if (!(e instanceof JetStreamApiError) || e.status !== 404) {
        throw new WalletError(WalletErrorCode.Nats, `cannot look up ledger stream ${ledger.stream}`, { cause: e });
      }
      try {
        await nats.jsm.streams.add(ledgerStreamConfig(ledger.stream, ledger.subject));
      } catch (cause) {
        // Lost a creation race with another process: fine if it now exists.
        await nats.jsm.streams.info(ledger.stream).catch(() => {
          throw new WalletError(WalletErrorCode.Nats, `cannot create ledger stream ${ledger.stream}`, { cause });
        });
      }
    }
    return ledger;
  }

  /** Appends one entry chained to the current head. Retries when another writer got there first. */
  async append(type: LedgerEntryType, proposalId: string, data: { [key: string]: JsonValue }): Promise<LedgerEntry> {
    return (await this.#append(type, proposalId, data, undefined))!;
  }

  /**
   * Appends an entry that must exist at most once per `onceKey` (e.g. "<proposal>:decision"):
   * concurrent writers of the same key are collapsed by JetStream's msg-id deduplication (2 min
   * window; callers keep their own record for later retries). Undefined when it was a duplicate.
   */
  async appendOnce(onceKey: string, type: LedgerEntryType, proposalId: string, data: { [key: string]: JsonValue }): Promise<LedgerEntry | undefined> {
    return this.#append(type, proposalId, data, onceKey);
  }

  async #append(type: LedgerEntryType, proposalId: string, data: { [key: string]: JsonValue }, msgID: string | undefined): Promise<LedgerEntry | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const last = await this.#last();
      const body: Omit<LedgerEntry, "hash"> = {
        v: 1,
        index: last ? last.entry.index + 1 : 0,
        at: this.#clock().toISOString(),
        type,
        proposalId,
        data,
        prev: last ? last.entry.hash : GENESIS_HASH,
      };
      const entry: LedgerEntry = { ...body, hash: hashEntry(body) };
      try {
        const ack = await this.#js.publish(this.subject, JSON.stringify(entry), {
          expect: { lastSubjectSequence: last ? last.seq : 0 },
          ...(msgID ? { msgID } : {}),
        });
        return ack.duplicate ? undefined : entry;
      } catch (e) {
        // 10071: wrong last sequence — someone appended in between; rebuild on the new head.
        if (e instanceof JetStreamApiError && e.code === 10071) continue;
        throw new WalletError(WalletErrorCode.Nats, `cannot append to ledger ${this.stream}`, { cause: e });
      }
    }
    throw new WalletError(WalletErrorCode.LedgerConflict, `ledger ${this.stream}: too many concurrent appends`);
  }

  async #last(): Promise<{ seq: number; entry: LedgerEntry } | undefined> {
    const m = await this.#jsm.streams.getMessage(this.stream, { last_by_subj: this.subject });
    if (!m) return undefined;
    return { seq: m.seq, entry: m.json<LedgerEntry>() };
  }

  /** Every message on the ledger subject in stream order, parsed or not. */
  async *messages(): AsyncGenerator<{ seq: number; entry?: LedgerEntry; raw: string }> {
    const info = await this.#jsm.streams.info(this.stream);
    const { first_seq, last_seq, messages } = info.state;
    if (messages === 0) return;
    for (let seq = first_seq; seq <= last_seq; seq++) {
      const m = await this.#jsm.streams.getMessage(this.stream, { seq });
      if (!m) {
        yield { seq, raw: "" };
        continue;
      }
      if (m.subject !== this.subject) continue;
      const raw = m.string();
      let entry: LedgerEntry | undefined;
      try {
        entry = JSON.parse(raw) as LedgerEntry;
      } catch {
        entry = undefined;
      }
      yield { seq, entry, raw: raw || "(empty)" };
    }
  }

  /** All well-formed entries (for `vibewriter ledger show` and tests). */
  async entries(filter?: { proposalId?: string }): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for await (const m of this.messages()) {
      if (m.entry && (!filter?.proposalId || m.entry.proposalId === filter.proposalId)) out.push(m.entry);
    }
    return out;
  }

  /**
   * Walks the chain. A deleted stream sequence or an absent chain index is `missing`; entries
   * whose indices are all present but not in stream order are `reordered`; an entry whose hash
   * does not match its contents, or whose `prev` is not the hash of the entry before it, is
   * `altered`.
   */
  async verify(): Promise<LedgerVerification> {
    const problems: LedgerProblem[] = [];
    const info = await this.#jsm.streams.info(this.stream);
    // The first entry ever written has stream sequence 1: a later first_seq means a deleted head.
    if (info.state.messages > 0 && info.state.first_seq !== 1) {
      problems.push({ kind: LedgerProblemKind.Missing, seq: 1, detail: `stream starts at sequence ${info.state.first_seq}: earlier entries were removed` });
    }
    const good: { seq: number; entry: LedgerEntry }[] = [];
    for await (const m of this.messages()) {
      if (m.raw === "") {
        problems.push({ kind: LedgerProblemKind.Missing, seq: m.seq, detail: `stream sequence ${m.seq} was deleted` });
        continue;
      }
      const e = m.entry;
      if (!e || typeof e !== "object" || typeof e.hash !== "string" || !Number.isSafeInteger(e.index) || e.index < 0 || typeof e.prev !== "string") {
        problems.push({ kind: LedgerProblemKind.Malformed, seq: m.seq, detail: "not a ledger entry" });
        continue;
      }
      let recomputed = "";
      try {
        recomputed = hashEntry(e);
      } catch {
        // unhashable content (a float, say) counts as altered
      }
      if (recomputed !== e.hash) {
        problems.push({ kind: LedgerProblemKind.Altered, seq: m.seq, detail: `entry ${e.index} does not match its hash` });
      }
      good.push({ seq: m.seq, entry: e });
    }
    const byIndex = new Map<number, LedgerEntry>();
    for (const { seq, entry } of good) {
      if (byIndex.has(entry.index)) {
        problems.push({ kind: LedgerProblemKind.Altered, seq, detail: `entry ${entry.index} appears twice` });
      } else byIndex.set(entry.index, entry);
    }
    const maxIndex = good.reduce((m, g) => Math.max(m, g.entry.index), -1);
    for (let i = 0; i <= maxIndex; i++) {
      if (!byIndex.has(i)) {
        const after = good.find((g) => g.entry.index > i);
        problems.push({ kind: LedgerProblemKind.Missing, seq: after?.seq ?? 0, detail: `entry ${i} is missing` });
      }
    }
    let prevPos = -1;
    for (const { seq, entry } of good) {
      if (entry.index < prevPos) {
        problems.push({ kind: LedgerProblemKind.Reordered, seq, detail: `entry ${entry.index} comes after entry ${prevPos}` });
      }
      prevPos = Math.max(prevPos, entry.index);
      const before = entry.index === 0 ? undefined : byIndex.get(entry.index - 1);
      const expectedPrev = entry.index === 0 ? GENESIS_HASH : before?.hash;
      if (expectedPrev !== undefined && entry.prev !== expectedPrev) {
        problems.push({ kind: LedgerProblemKind.Altered, seq, detail: `entry ${entry.index} does not link to entry ${entry.index - 1}` });
      }
    }
    const head = maxIndex >= 0 ? byIndex.get(maxIndex)!.hash : GENESIS_HASH;
    return { ok: problems.length === 0, entries: good.length, head, problems };
  }
}
