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
import { Names, readStream, verifyByNkey, WRONG_LAST_SEQUENCE } from "../nats/index.ts";
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
  /** What was about to be signed disagreed with the mandate, the ledger or the policy: refused. */
  Tamper: "tamper",
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
  /** The writer's public key (nkey `U…`: the runtime's or the owner's); part of the hash. */
  by?: string;
  /** sha256 hex of the canonical JSON of every other field (but `sig`). */
  hash: string;
  /** base64 ed25519 signature by `by` over `hash`. */
  sig?: string;
}

/** Signs the entries this process appends. */
export interface LedgerSigner {
  readonly publicKey: string;
  sign(data: Uint8Array): Uint8Array;
}

export const GENESIS_HASH = "0".repeat(64);

export function hashEntry(entry: Omit<LedgerEntry, "hash" | "sig">): string {
  const { v, index, at, type, proposalId, data, prev, by } = entry;
  const body: { [key: string]: JsonValue } = { v, index, at, type, proposalId, data, prev };
  if (by !== undefined) body.by = by;
  return createHash("sha256").update(canonicalJson(body)).digest("hex");
}

const sigBytes = (hash: string) => new TextEncoder().encode(`vibewriter-ledger-v1\n${hash}`);

export const LedgerProblemKind = {
  /** A stream sequence or chain index is absent. */
  Missing: "missing",
  /** Entries are out of order (index or prev link points elsewhere). */
  Reordered: "reordered",
  /** The entry's content does not match its hash. */
  Altered: "altered",
  Malformed: "malformed",
  /** Not signed, or signed by a key that is not the runtime's or the owner's. */
  Unsigned: "unsigned",
  /** The anchor outside NATS names an entry the chain does not have (truncated, deleted, rewritten). */
  Anchor: "anchor_mismatch",
  /** A signature, signing or approval that follows no decision or mandate for the same transaction. */
  Unauthorized: "unauthorized",
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
  /** Refused attempts on record (`tamper` entries): the chain is fine, the attempts are not. */
  tamperAttempts: number;
  /** The anchored head, when an anchor is configured. */
  anchor?: { index: number; hash: string };
  /** Hash of the last good entry. */
  head: string;
  problems: LedgerProblem[];
}

export interface LedgerOptions {
  stream?: string;
  subject?: string;
  clock?: () => Date;
  /** Signs what this process appends. */
  signer?: LedgerSigner;
  /**
   * The keys whose entries `verify()` accepts (runtime and owner). Given, an unsigned entry or one
   * by any other key is a problem; absent, signatures are not checked (tests of the chain alone).
   */
  trusted?: readonly string[];
  /** The head record outside NATS: advanced after each append, checked by `verify()`. */
  anchor?: LedgerAnchor;
  /** Never create the stream (the viewer): a missing stream reads as an empty chain. */
  readOnly?: boolean;
  /** Replicas of the stream when this call creates it (`Backbone.replicas`; default 1). */
  replicas?: number;
  /** Checks the meaning of signatures and approvals in `verify()` (see wallet/ledger-meaning.ts). */
  meaning?: (entries: readonly LedgerEntry[]) => LedgerProblem[];
}

/** Where the last known head of the chain is kept outside NATS. */
export interface LedgerAnchor {
  read(): Promise<{ index: number; hash: string } | undefined>;
  advance(entry: LedgerEntry): Promise<void>;
}

export function ledgerStreamConfig(stream: string, subject: string, replicas = 1): Partial<StreamConfig> & { name: string } {
  return {
    name: stream,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    num_replicas: replicas,
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
  readonly #opts: LedgerOptions;
  /** Entries read so far, in stream order (the ledger only grows; a shrunk stream resets it). */
  #cache: { lastSeq: number; entries: { seq: number; entry: LedgerEntry }[] } = { lastSeq: 0, entries: [] };
  /** Signature checks already made, by hash and signature (an entry is checked once per process). */
  readonly #checked = new Map<string, boolean>();

  private constructor(js: JetStreamClient, jsm: JetStreamManager, opts: LedgerOptions) {
    this.#js = js;
    this.#jsm = jsm;
    this.#opts = opts;
    this.stream = opts.stream ?? Names.ledgerStream;
    this.subject = opts.subject ?? Names.ledgerSubject;
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
      if (opts.readOnly) return ledger;
      try {
        await nats.jsm.streams.add(ledgerStreamConfig(ledger.stream, ledger.subject, opts.replicas));
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
      const signer = this.#opts.signer;
      const body: Omit<LedgerEntry, "hash"> = {
        v: 1,
        index: last ? last.entry.index + 1 : 0,
        at: this.#clock().toISOString(),
        type,
        proposalId,
        data,
        prev: last ? last.entry.hash : GENESIS_HASH,
        ...(signer ? { by: signer.publicKey } : {}),
      };
      const hash = hashEntry(body);
      const entry: LedgerEntry = { ...body, hash, ...(signer ? { sig: Buffer.from(signer.sign(sigBytes(hash))).toString("base64") } : {}) };
      try {
        const ack = await this.#js.publish(this.subject, JSON.stringify(entry), {
          expect: { lastSubjectSequence: last ? last.seq : 0 },
          ...(msgID ? { msgID } : {}),
        });
        if (ack.duplicate) return undefined;
        await this.#opts.anchor?.advance(entry);
        return entry;
      } catch (e) {
        // Someone appended in between: rebuild on the new head.
        if (e instanceof JetStreamApiError && e.code === WRONG_LAST_SEQUENCE) continue;
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

  /**
   * The entries of one proposal whose signature checks out (when `trusted` is set), read
   * incrementally: each call fetches only what was appended since the last.
   */
  async entriesFor(proposalId: string): Promise<LedgerEntry[]> {
    const info = await this.#info();
    const last = info?.state.last_seq ?? 0;
    if (last < this.#cache.lastSeq) this.#cache = { lastSeq: 0, entries: [] };
    if (last > this.#cache.lastSeq) {
      await this.#read(Math.max(this.#cache.lastSeq + 1, info?.state.first_seq ?? 1), (seq, raw) => {
        try {
          this.#cache.entries.push({ seq, entry: JSON.parse(raw) as LedgerEntry });
        } catch {
          // malformed: verify() reports it
        }
        this.#cache.lastSeq = seq;
      });
      this.#cache.lastSeq = Math.max(this.#cache.lastSeq, last);
    }
    return this.#cache.entries.map((e) => e.entry).filter((e) => e.proposalId === proposalId && this.signedByTrusted(e) !== false);
  }

  /** The ledger subject from `fromSeq` on, in one ordered consumer (batches, not a request per message). */
  #read(fromSeq: number, onMessage: (seq: number, raw: string) => void): Promise<void> {
    return readStream(this.#js, this.stream, this.subject, (m) => onMessage(m.seq, m.string()), { fromSeq });
  }

  /** true: signed by a trusted key; false: not (or forged); undefined: no trusted keys configured. */
  signedByTrusted(e: LedgerEntry): boolean | undefined {
    const trusted = this.#opts.trusted;
    if (!trusted) return undefined;
    if (typeof e.by !== "string" || typeof e.sig !== "string" || typeof e.hash !== "string" || !trusted.includes(e.by)) return false;
    const key = `${e.by}:${e.hash}:${e.sig}`;
    let ok = this.#checked.get(key);
    if (ok === undefined) {
      let rehash = "";
      try {
        rehash = hashEntry(e);
      } catch {
        // unhashable content: not this hash
      }
      ok = rehash === e.hash && verifyByNkey(e.by, sigBytes(e.hash), Buffer.from(e.sig, "base64"));
      this.#checked.set(key, ok);
    }
    return ok;
  }

  async #info() {
    try {
      return await this.#jsm.streams.info(this.stream);
    } catch (e) {
      if (e instanceof JetStreamApiError && e.status === 404) return undefined;
      throw new WalletError(WalletErrorCode.Nats, `cannot read ledger stream ${this.stream}`, { cause: e });
    }
  }

  /** Every message on the ledger subject in stream order, parsed or not. */
  async *messages(): AsyncGenerator<{ seq: number; entry?: LedgerEntry; raw: string }> {
    const info = await this.#info();
    if (!info) return;
    const { first_seq, last_seq, messages } = info.state;
    if (messages === 0) return;
    const read: { seq: number; raw: string }[] = [];
    await this.#read(first_seq, (seq, raw) => read.push({ seq, raw }));
    // A sequence the consumer skipped was deleted: reported as an empty message.
    let expected = first_seq;
    for (const m of read) {
      for (; expected < m.seq; expected++) yield { seq: expected, raw: "" };
      expected = m.seq + 1;
      let entry: LedgerEntry | undefined;
      try {
        entry = JSON.parse(m.raw) as LedgerEntry;
      } catch {
        entry = undefined;
      }
      yield { seq: m.seq, entry, raw: m.raw || "(empty)" };
    }
    for (; expected <= last_seq && read.length > 0; expected++) yield { seq: expected, raw: "" };
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
    const info = await this.#info();
    // A missing stream reads as an empty chain: on a fresh install that is the truth; after a
    // deletion the anchor outside NATS says otherwise (below).
    // The first entry ever written has stream sequence 1: a later first_seq means a deleted head.
    if (info && info.state.messages > 0 && info.state.first_seq !== 1) {
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
      } else if (this.signedByTrusted(e) === false) {
        problems.push({
          kind: LedgerProblemKind.Unsigned,
          seq: m.seq,
          detail: `entry ${e.index} (${String(e.type)}) is ${e.by ? `signed by ${e.by}, not by the runtime or the owner, or its signature is forged` : "not signed"}`,
        });
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
    const anchor = await this.#opts.anchor?.read();
    if (anchor) {
      const at = byIndex.get(anchor.index);
      if (!at) {
        problems.push({
          kind: LedgerProblemKind.Anchor,
          seq: 0,
          detail: `the anchor outside NATS records entry ${anchor.index} (hash ${anchor.hash.slice(0, 16)}…), but the chain ${maxIndex < 0 ? "is empty" : `ends at entry ${maxIndex}`}: entries were deleted or the tail truncated`,
        });
      } else if (at.hash !== anchor.hash) {
        problems.push({
          kind: LedgerProblemKind.Anchor,
          seq: good.find((g) => g.entry === at)?.seq ?? 0,
          detail: `entry ${anchor.index} has hash ${at.hash.slice(0, 16)}…, the anchor outside NATS records ${anchor.hash.slice(0, 16)}…: the chain was rewritten`,
        });
      }
    }
    const entries = good.map((g) => g.entry);
    if (this.#opts.meaning) problems.push(...this.#opts.meaning(entries.filter((e) => this.signedByTrusted(e) !== false)));
    const tamperAttempts = entries.filter((e) => e.type === LedgerEntryType.Tamper).length;
    return { ok: problems.length === 0, entries: good.length, head, problems, tamperAttempts, ...(anchor ? { anchor } : {}) };
  }
}
