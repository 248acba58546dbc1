import { compareWritesSortKeys, writesSortKey } from "@langchain/langgraph-checkpoint";

/**
 * The in-process materialised view of one thread's state messages. Messages may arrive in any
 * order (history load, live tail, own acks); each entry keeps the stream sequence it came from
 * and only a newer sequence replaces it, so applying is idempotent and order-independent.
 * Raw bytes are kept; decoded values are cached beside them (decoding is the expensive part).
 */

/** Header of a checkpoint message; parts: [checkpoint without channel_values, metadata]. */
export interface CheckpointHeader {
  k: "c";
  t: string;
  n: string;
  id: string;
  p?: string;
  ty: string;
  mty: string;
}
/** Header of a channel value message; parts: [value]. `ty: "empty"` = channel has no value. */
export interface BlobHeader {
  k: "b";
  t: string;
  n: string;
  ch: string;
  v: string | number;
  ty: string;
}
/** Header of a pending write; parts: [value]. */
export interface WriteHeader {
  k: "w";
  t: string;
  n: string;
  id: string;
  task: string;
  idx: number;
  ch: string;
  ty: string;
  path: string;
}
/** deleteThread marker: everything of the thread stored before it is gone. */
export interface ResetHeader {
  k: "x";
  t: string;
}
export type StateHeader = CheckpointHeader | BlobHeader | WriteHeader | ResetHeader;

interface Entry<H> {
  seq: number;
  header: H;
  parts: Uint8Array[];
  decoded?: unknown;
  isDecoded?: boolean;
}
export type CheckpointEntry = Entry<CheckpointHeader>;
export type BlobEntry = Entry<BlobHeader>;
export type WriteEntry = Entry<WriteHeader>;

export function blobKey(channel: string, version: string | number): string {
  return `${channel}\u0000${typeof version}\u0000${version}`;
}

export class NamespaceView {
  readonly checkpoints = new Map<string, CheckpointEntry>();
  readonly blobs = new Map<string, BlobEntry>();
  /** checkpoint id → (task \0 idx) → write */
  readonly writes = new Map<string, Map<string, WriteEntry>>();
  #sortedDesc: string[] | undefined;

  /** Checkpoint ids, newest (largest) first. */
  idsDescending(): string[] {
    if (!this.#sortedDesc) {
      this.#sortedDesc = [...this.checkpoints.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    }
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
        compareWritesSortKeys(
          writesSortKey(a.header.path, a.header.task, a.header.idx),
          writesSortKey(b.header.path, b.header.task, b.header.idx),
        ),
      );
    }
    return list;
  }

  setCheckpoint(e: CheckpointEntry): void {
    const old = this.checkpoints.get(e.header.id);
    if (old && old.seq >= e.seq) return;
    if (!old) this.#sortedDesc = undefined;
    this.checkpoints.set(e.header.id, e);
  }

  setBlob(e: BlobEntry): void {
    const k = blobKey(e.header.ch, e.header.v);
    const old = this.blobs.get(k);
    if (old && old.seq >= e.seq) return;
    this.blobs.set(k, e);
  }

  setWrite(e: WriteEntry): void {
    let m = this.writes.get(e.header.id);
    if (!m) this.writes.set(e.header.id, (m = new Map()));
    const k = `${e.header.task}\u0000${e.header.idx}`;
    const old = m.get(k);
    if (old && old.seq >= e.seq) return;
    m.set(k, e);
  }

  /** Drop everything stored before `seq` (a deleteThread marker). */
  dropBefore(seq: number): void {
    for (const [k, e] of this.checkpoints) if (e.seq < seq) this.checkpoints.delete(k);
    for (const [k, e] of this.blobs) if (e.seq < seq) this.blobs.delete(k);
    for (const [id, m] of this.writes) {
      for (const [k, e] of m) if (e.seq < seq) m.delete(k);
      if (m.size === 0) this.writes.delete(id);
    }
    this.#sortedDesc = undefined;
  }
}

export class ThreadView {
  readonly namespaces = new Map<string, NamespaceView>();
  /** Sequence of the newest deleteThread marker applied. */
  resetSeq = 0;

  constructor(readonly threadId: string) {}

  ns(name: string): NamespaceView {
    let v = this.namespaces.get(name);
    if (!v) this.namespaces.set(name, (v = new NamespaceView()));
    return v;
  }

  apply(seq: number, header: StateHeader, parts: Uint8Array[]): void {
    if (seq < this.resetSeq) return;
    switch (header.k) {
      case "x":
        this.resetSeq = seq;
        for (const v of this.namespaces.values()) v.dropBefore(seq);
        return;
      case "c":
        this.ns(header.n).setCheckpoint({ seq, header, parts });
        return;
      case "b":
        this.ns(header.n).setBlob({ seq, header, parts });
        return;
      case "w":
        this.ns(header.n).setWrite({ seq, header, parts });
        return;
    }
  }
}
