import {
  blobKey,
  type BlobChunkHeader,
  type BlobDelta,
  type BlobEntry,
  type BlobRef,
  type CheckpointHeader,
  type NamespaceView,
  type StateHeader,
  type WriteHeader,
  type WriteRef,
} from "./checkpoint-view.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { encodeFrame } from "./frame.ts";
import { encodeToken } from "./subject-token.ts";

/**
 * How a put or putWrites becomes state messages (subjects, frames), and when a channel value can
 * be stored as a delta. Pure: no I/O; the checkpointer publishes what this returns, in order.
 */

/** One message to publish, with what the view needs to apply it once acknowledged. */
export interface Outgoing {
  subject: string;
  data: Uint8Array;
  header: StateHeader;
  parts: Uint8Array[];
  /** First write wins: only store when the subject has no message yet. */
  ifAbsent: boolean;
}

/** Room left for NATS headers (msg id, expectations) under the server's max_payload. */
export const HEADER_ROOM = 16 * 1024;
/** Lists shorter than this are always stored whole. */
const MIN_DELTA_ITEMS = 8;

export function versionToken(v: string | number): string {
  return encodeToken((typeof v === "number" ? "n" : "s") + String(v));
}

/**
 * A growing list (a conversation) changes by a few items per step: when the parent checkpoint's
 * version of the channel is held decoded here and the new list is an older whole version (the
 * anchor) minus some leading items plus new ones (the same objects), only the new items need
 * storing. Deltas always refer to a whole value, never to another delta, so a reader needs at most
 * two messages per channel; a whole value is stored again once the items added since the anchor
 * pass a quarter of the list.
 */
export function listDelta(
  nsView: NamespaceView | undefined,
  parentVersions: Record<string, string | number> | undefined,
  ch: string,
  value: unknown,
): { delta: BlobDelta; extra: unknown[] } | undefined {
  if (!nsView || !parentVersions || !Array.isArray(value) || value.length < MIN_DELTA_ITEMS) return undefined;
  const pv = parentVersions[ch];
  if (pv === undefined) return undefined;
  const parent = nsView.blobs.get(blobKey(ch, pv));
  if (!parent) return undefined;
  // The anchor: the parent's value itself when whole, else the whole value its delta refers to.
  const bv = parent.delta ? parent.delta.bv : pv;
  const base: BlobEntry | undefined = parent.delta ? nsView.blobs.get(blobKey(ch, bv)) : parent;
  if (!base?.isDecoded || base.delta || !Array.isArray(base.decoded)) return undefined;
  const old = base.decoded as unknown[];
  // The same array object, or one whose length changed since it was stored, was edited in place:
  // what the server holds is no longer what we see, so store the whole value.
  if (old === value || old.length !== base.length || (parent.isDecoded && parent.decoded === value)) return undefined;
  const drop = old.indexOf(value[0]);
  if (drop < 0) return undefined;
  const kept = old.length - drop;
  if (kept > value.length) return undefined;
  for (let i = 0; i < kept; i++) if (old[drop + i] !== value[i]) return undefined;
  const extra = value.slice(kept);
  if (extra.length > value.length / 4) return undefined;
  const delta: BlobDelta = { bv, drop, n: value.length };
  if (parent.delta?.at !== undefined) delta.at = parent.delta.at;
  return { delta, extra };
}

export interface CheckpointMessageInput {
  nsSubject: string;
  threadId: string;
  ns: string;
  id: string;
  parentId: string | undefined;
  checkpoint: [type: string, bytes: Uint8Array];
  metadata: [type: string, bytes: Uint8Array];
  /** Channel values to store with it (serialized; `ty: "empty"` for a channel without value). */
  blobs: { ref: BlobRef; bytes: Uint8Array }[];
  /** Where the channels it does not store live (header `l`). */
  loc?: Record<string, string>;
  /** The other checkpoints a read of it needs (header `a`). */
  needs?: string[];
  /** It stores every value whole: published on `s.<id>` (header `s`), where a reader finds it without knowing its id. */
  snapshot?: boolean;
  /** Largest frame the server takes. */
  maxFrame: number;
}

/**
 * A checkpoint is one message carrying the values that fit; a value too large for one message goes
 * first as chunk messages. The checkpoint comes last, so whoever sees it also sees its values.
 */
export function checkpointMessages(input: CheckpointMessageInput): Outgoing[] {
  const { nsSubject, threadId, ns, id, parentId, maxFrame: max } = input;
  const [ty, cpBytes] = input.checkpoint;
  const [mty, mdBytes] = input.metadata;
  const out: Outgoing[] = [];
  const header: CheckpointHeader = { k: "c", t: threadId, n: ns, id, ty, mty, b: [] };
  if (parentId) header.p = parentId;
  if (input.loc) header.l = input.loc;
  if (input.needs) header.a = input.needs;
  if (input.snapshot) header.s = 1;
  const parts = [cpBytes, mdBytes];
  let size = cpBytes.length + mdBytes.length + 1024;
  for (const { ref, bytes } of input.blobs) {
    if (size + bytes.length + 256 <= max) {
      header.b.push(ref);
      parts.push(bytes);
      size += bytes.length + 256;
      continue;
    }
    const room = max - 1024;
    const cn = Math.max(1, Math.ceil(bytes.length / room));
    const base = `${nsSubject}.b.${encodeToken(ref.ch)}.${versionToken(ref.v)}`;
    for (let ck = 0; ck < cn; ck++) {
      const part = bytes.subarray(ck * room, (ck + 1) * room);
      const h: BlobChunkHeader = { k: "b", t: threadId, n: ns, ...ref, ck, cn };
      out.push({ subject: `${base}.${ck}`, data: encodeFrame(h, [part]), header: h, parts: [part], ifAbsent: false });
    }
  }
  const kind = input.snapshot ? "s" : "c";
  out.push({ subject: `${nsSubject}.${kind}.${encodeToken(id)}`, data: encodeFrame(header, parts), header, parts, ifAbsent: false });
  return out;
}

export interface WriteMessageInput {
  /** `<ns subject>.w.<checkpoint>.<task>` */
  subject: string;
  threadId: string;
  ns: string;
  checkpointId: string;
  taskId: string;
  path: string;
  items: { ref: WriteRef; bytes: Uint8Array }[];
  maxFrame: number;
}

/**
 * The regular writes of one task call are one message stored only if none is there yet (first
 * write wins, enforced by the server); each special write (error, interrupt, resume, …) is its
 * own message and replaces the previous one.
 */
export function writeMessages(input: WriteMessageInput): Outgoing[] {
  const { subject, threadId, ns, checkpointId, taskId, path, maxFrame: max } = input;
  const out: Outgoing[] = [];
  const make = (subj: string, items: WriteMessageInput["items"], ifAbsent: boolean) => {
    const header: WriteHeader = { k: "w", t: threadId, n: ns, id: checkpointId, task: taskId, path, w: items.map((e) => e.ref) };
    const parts = items.map((e) => e.bytes);
    const data = encodeFrame(header, parts);
    if (data.length > max) {
      throw new NatsBackboneError(
        NatsErrorCode.InvalidArgument,
        `putWrites: a pending write of ${data.length} bytes exceeds the server's max_payload (${max + HEADER_ROOM} bytes)`,
      );
    }
    out.push({ subject: subj, data, header, parts, ifAbsent });
  };
  const regular = input.items.filter((e) => e.ref.idx >= 0);
  let batch: WriteMessageInput["items"] = [];
  let size = 0;
  for (const e of regular) {
    if (batch.length > 0 && size + e.bytes.length > max - 4096) {
      make(out.length === 0 ? subject : `${subject}.r${out.length}`, batch, true);
      batch = [];
      size = 0;
    }
    batch.push(e);
    size += e.bytes.length + 128;
  }
  if (batch.length > 0) make(out.length === 0 ? subject : `${subject}.r${out.length}`, batch, true);
  for (const e of input.items.filter((x) => x.ref.idx < 0)) make(`${subject}.${encodeToken(String(e.ref.idx))}`, [e], false);
  return out;
}
