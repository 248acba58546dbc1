import { compareWritesSortKeys, writesSortKey } from "@langchain/langgraph-checkpoint";

/**
 * Wire headers of the state messages (the JSON part of a frame; the byte parts follow in order)
 * and the in-process materialised view of one thread built from them.
 *
 * Messages may reach the view in any order (history load, live tail, own acks); each entry keeps
 * the stream sequence it came from and only a newer one replaces it, so applying is idempotent
 * and order-independent. Raw bytes are kept; decoded values are cached beside them.
 */

/** A blob carried by a checkpoint message: the value is the part at the same position after cp+md. */
export interface BlobRef {
  ch: string;
  v: string | number;
  /** serde type, or "empty" when the channel has no value */
  ty: string;
  /** Delta: the value is version `bv` of the same channel minus its first `drop` elements, plus the
   *  elements stored here; `n` is the resulting length. Used for growing lists (messages). */
  d?: BlobDelta;
}

export interface BlobDelta {
  bv: string | number;
  drop: number;
  n: number;
  /** Id of the checkpoint whose message holds version `bv`, when the writer knew it. */
  at?: string;
}

/**
 * The most deltas a reader follows from a value towards its whole base. Writers store deltas of a
 * whole value only (one step, see `listDelta`); stores written before 2026-12-01 chained up to 32.
 * Past it a resume stops placing the value and reads the whole thread instead.
 */
export const MAX_DELTA_HOPS = 64;

/** `c.<id>`: parts [checkpoint without channel_values, metadata, ...values of `b`]. */
export interface CheckpointHeader {
  k: "c";
  t: string;
  n: string;
  id: string;
  p?: string;
  ty: string;
  mty: string;
  /** Channel values stored with this checkpoint (the channels in newVersions that fit). */
  b: BlobRef[];
  /**
   * Where the other channels' values live: channel → id of the checkpoint that stored that
   * version (its message, or its `b.` chunks). Present only when the writer knew all of them;
   * lets a new process resume by reading a handful of messages instead of the whole thread.
   */
  l?: Record<string, string>;
  /**
   * Every other checkpoint whose message holds a value this one needs (`l`'s targets and the
   * bases of its deltas), when the writer knew them all: a reader fetches them at once.
   */
  a?: string[];
  /** 1: a snapshot, every value stored whole in it (subject `s.<id>` instead of `c.<id>`). */
  s?: 1;
}

/** `b.<channel>.<version>.<chunk>`: one chunk of a value too large to ride in its checkpoint. */
export interface BlobChunkHeader extends BlobRef {
  k: "b";
  t: string;
  n: string;
  /** chunk index and count */
  ck: number;
  cn: number;
}

export interface WriteRef {
  idx: number;
  ch: string;
  ty: string;
}

/** `w.<checkpoint>.<task>` (regular writes of one call) or `w.<checkpoint>.<task>.<idx>` (special). */
export interface WriteHeader {
  k: "w";
  t: string;
  n: string;
  id: string;
  task: string;
  path: string;
  w: WriteRef[];
}

/** `x`: deleteThread marker; everything of the thread stored before it is gone. */
export interface ResetHeader {
  k: "x";
  t: string;
}

export type StateHeader = CheckpointHeader | BlobChunkHeader | WriteHeader | ResetHeader;

interface Decodable {
  seq: number;
  ty: string;
  bytes: Uint8Array | undefined;
  decoded?: unknown;
  isDecoded?: boolean;
}
export interface BlobEntry extends Decodable {
  chunks?: (Uint8Array | undefined)[];
  delta?: BlobDelta;
  /** Length of the decoded list when it was decoded or written (detects later in-place edits). */
  length?: number;
}
export interface WriteEntry extends Decodable {
  task: string;
  idx: number;
  ch: string;
  path: string;
  /** Applied by this process before its acknowledgement (a held thread): replaced by the stored one. */
  provisional?: true;
}
export interface CheckpointEntry {
  seq: number;
  id: string;
  parent: string | undefined;
  ty: string;
  mty: string;
  cp: Uint8Array;
  md: Uint8Array;
  decoded?: unknown;
  /** Channel versions, known without decoding when this process wrote the checkpoint. */
  versions?: Record<string, string | number>;
  /** Channels whose values this checkpoint stored itself. */
  stored: Set<string>;
  /** The header's `l`: where the other channels' values live. */
  loc?: Record<string, string>;
  /** The header's `a`: the other checkpoints whose messages a read of this one needs. */
  needs?: string[];
  /** Bytes of its message (a snapshot's size decides when the next one is due). */
  size?: number;
}

/** Values this process just wrote, keyed like `ownValueKey`: the objects stand in for decoding. */
export type OwnValues = Map<string, unknown>;
export const ownBlobKey = (ch: string) => `b\u0000${ch}`;
export const ownWriteKey = (idx: number) => `w\u0000${idx}`;
/** The channel versions of a checkpoint this process wrote (a copy), so the next put need not decode it. */
export const OWN_VERSIONS_KEY = "versions";

function setOwn(entry: BlobEntry, own: OwnValues | undefined, key: string): void {
  if (!own?.has(key)) return;
  entry.decoded = own.get(key);
  entry.isDecoded = true;
  if (Array.isArray(entry.decoded)) entry.length = entry.decoded.length;
}

export function blobKey(channel: string, version: string | number): string {
  return `${channel}\u0000${typeof version}\u0000${version}`;
}

export class NamespaceView {
  readonly checkpoints = new Map<string, CheckpointEntry>();
  readonly blobs = new Map<string, BlobEntry>();
  /** checkpoint id → (task \0 idx) → write */
  readonly writes = new Map<string, Map<string, WriteEntry>>();
  /** The newest snapshot checkpoint (by stream sequence) this view holds. */
  snapshotId: string | undefined;
  #sortedDesc: string[] | undefined;

  /** Checkpoint ids, newest (largest) first. */
  idsDescending(): string[] {
    this.#sortedDesc ??= [...this.checkpoints.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    return this.#sortedDesc;
  }

  latestId(): string | undefined {
    return this.idsDescending()[0];
  }

  /** Writes of a checkpoint in `writesSortKey` order (task path, task id, idx). */
  orderedWrites(checkpointId: string): WriteEntry[] {
    const m = this.writes.get(checkpointId);
    if (!m) return [];
    const list = [...m.values()];
    if (list.length > 1) {
      list.sort((a, b) =>
        compareWritesSortKeys(writesSortKey(a.path, a.task, a.idx), writesSortKey(b.path, b.task, b.idx)),
      );
    }
    return list;
  }

  hasWrite(checkpointId: string, task: string, idx: number): boolean {
    return this.writes.get(checkpointId)?.has(`${task}\u0000${idx}`) ?? false;
  }

  applyCheckpoint(seq: number, h: CheckpointHeader, parts: Uint8Array[], own?: OwnValues): void {
    const old = this.checkpoints.get(h.id);
    if (!old || old.seq < seq) {
      if (!old) this.#sortedDesc = undefined;
      const entry: CheckpointEntry = {
        seq,
        id: h.id,
        parent: h.p,
        ty: h.ty,
        mty: h.mty,
        cp: parts[0],
        md: parts[1],
        stored: new Set(h.b.map((r) => r.ch)),
      };
      if (h.l) entry.loc = h.l;
      if (h.a) entry.needs = h.a;
      entry.size = parts.reduce((n, p) => n + p.length, 0);
      if (h.s === 1 && (this.snapshotId === undefined || (this.checkpoints.get(this.snapshotId)?.seq ?? 0) < seq)) this.snapshotId = h.id;
      if (own?.has(OWN_VERSIONS_KEY)) entry.versions = own.get(OWN_VERSIONS_KEY) as Record<string, string | number>;
      this.checkpoints.set(h.id, entry);
    }
    h.b.forEach((ref, i) => {
      const key = blobKey(ref.ch, ref.v);
      const prev = this.blobs.get(key);
      if (prev && prev.seq >= seq) return;
      const entry: BlobEntry = { seq, ty: ref.ty, bytes: parts[2 + i] };
      if (ref.d) entry.delta = ref.d;
      setOwn(entry, own, ownBlobKey(ref.ch));
      this.blobs.set(key, entry);
    });
  }

  applyBlobChunk(seq: number, h: BlobChunkHeader, part: Uint8Array, own?: OwnValues): void {
    const key = blobKey(h.ch, h.v);
    let entry = this.blobs.get(key);
    if (!entry || !entry.chunks || entry.chunks.length !== h.cn) {
      if (entry && !entry.chunks && entry.bytes) return; // already complete
      entry = { seq, ty: h.ty, bytes: undefined, chunks: new Array(h.cn).fill(undefined) };
      if (h.d) entry.delta = h.d;
      this.blobs.set(key, entry);
    }
    entry.chunks![h.ck] = part;
    entry.seq = Math.max(entry.seq, seq);
    if (entry.chunks!.every((c) => c !== undefined)) {
      entry.bytes = Buffer.concat(entry.chunks as Uint8Array[]);
      entry.chunks = undefined;
      setOwn(entry, own, ownBlobKey(h.ch));
    }
  }

  applyWrites(seq: number, h: WriteHeader, parts: Uint8Array[], own?: OwnValues, provisional = false): void {
    let m = this.writes.get(h.id);
    if (!m) this.writes.set(h.id, (m = new Map()));
    h.w.forEach((ref, i) => {
      const k = `${h.task}\u0000${ref.idx}`;
      const old = m.get(k);
      if (old && (provisional ? ref.idx >= 0 : old.seq >= seq && !old.provisional)) return;
      const entry: WriteEntry = { seq, ty: ref.ty, bytes: parts[i], task: h.task, idx: ref.idx, ch: ref.ch, path: h.path };
      if (provisional) entry.provisional = true;
      const ownKey = ownWriteKey(ref.idx);
      if (own?.has(ownKey)) {
        entry.decoded = own.get(ownKey);
        entry.isDecoded = true;
      }
      m.set(k, entry);
    });
  }

  /**
   * This process's writes, applied before they are acknowledged (only for a thread it holds: no
   * other writer can race them). A regular write never replaces one already there (first write
   * wins); the acknowledged message replaces each entry with its sequence.
   */
  applyPendingWrites(h: WriteHeader, parts: Uint8Array[], own?: OwnValues): void {
    this.applyWrites(PENDING_SEQ, h, parts, own, true);
  }

  /** Drop everything stored before `seq` (a deleteThread marker). */
  dropBefore(seq: number): void {
    for (const [k, e] of this.checkpoints) if (e.seq < seq) this.checkpoints.delete(k);
    if (this.snapshotId !== undefined && !this.checkpoints.has(this.snapshotId)) this.snapshotId = undefined;
    for (const [k, e] of this.blobs) if (e.seq < seq) this.blobs.delete(k);
    for (const [id, m] of this.writes) {
      for (const [k, e] of m) if (e.seq < seq) m.delete(k);
      if (m.size === 0) this.writes.delete(id);
    }
    this.#sortedDesc = undefined;
  }
}

/** The sequence a write applied before its acknowledgement carries: after everything stored. */
const PENDING_SEQ = Number.MAX_SAFE_INTEGER;

export class ThreadView {
  readonly namespaces = new Map<string, NamespaceView>();
  /** Sequence of the newest deleteThread marker applied. */
  resetSeq = 0;
  /** The thread's history has been read (a view made by a write alone holds only that write). */
  loaded = false;
  /**
   * Namespaces whose latest checkpoint was read with just what it needs (a resume): enough for
   * reads of the latest checkpoint; anything else reads the whole history first.
   */
  readonly latestLoaded = new Set<string>();
  /** Sequences the live tail announced for this thread that are not applied yet. */
  readonly missing = new Set<number>();
  /** Sequences applied (own acks) that the live tail has not announced yet. */
  readonly unconfirmed = new Set<number>();

  constructor(readonly threadId: string) {}

  ns(name: string): NamespaceView {
    let v = this.namespaces.get(name);
    if (!v) this.namespaces.set(name, (v = new NamespaceView()));
    return v;
  }

  /** The live tail saw `seq` for this thread. */
  announced(seq: number): void {
    if (!this.unconfirmed.delete(seq)) this.missing.add(seq);
  }

  /**
   * Apply one message. `tailWatermark` is how far the live tail has read: a sequence beyond it
   * will still be announced, so remember it was applied.
   */
  apply(seq: number, header: StateHeader, parts: Uint8Array[], tailWatermark: number, own?: OwnValues): void {
    if (!this.missing.delete(seq) && seq > tailWatermark) this.unconfirmed.add(seq);
    if (seq < this.resetSeq) return;
    switch (header.k) {
      case "x":
        this.resetSeq = seq;
        for (const v of this.namespaces.values()) v.dropBefore(seq);
        return;
      case "c":
        this.ns(header.n).applyCheckpoint(seq, header, parts, own);
        return;
      case "b":
        this.ns(header.n).applyBlobChunk(seq, header, parts[0], own);
        return;
      case "w":
        this.ns(header.n).applyWrites(seq, header, parts, own);
        return;
    }
  }
}
