import {
  WRITES_IDX_MAP,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { CheckpointDecoder } from "./checkpoint-decode.ts";
import {
  blobKey,
  ownBlobKey,
  ownWriteKey,
  OWN_VERSIONS_KEY,
  type BlobDelta,
  type BlobRef,
  type CheckpointEntry,
  type NamespaceView,
  type OwnValues,
  type WriteEntry,
  type WriteRef,
} from "./checkpoint-view.ts";
import { checkpointMessages, listDelta, writeMessages, type Outgoing } from "./state-messages.ts";
import { encodeToken } from "./subject-token.ts";

/** What changed since the snapshot may grow to this size (or a quarter of the snapshot) before a new one. */
const MIN_SNAPSHOT_BYTES = 16 * 1024;

export interface CheckpointEncoderOptions {
  serde: SerializerProtocol;
  /** Decodes the channel versions of a parent or snapshot this process did not write. */
  decoder: CheckpointDecoder;
  /** See `JetStreamCheckpointSaverOptions.restoreDistance`. */
  restoreDistance: number;
  /** Largest frame the server takes (it may change on reconnect). */
  maxFrame: () => number;
}

/** A put to encode; `nsView` is what this process holds of the namespace (its parent, its snapshot). */
export interface CheckpointPut {
  nsSubject: string;
  threadId: string;
  ns: string;
  id: string;
  parentId: string | undefined;
  checkpoint: Checkpoint;
  metadata: CheckpointMetadata;
  newVersions: ChannelVersions;
  nsView: NamespaceView | undefined;
}

/** A putWrites to encode; regular writes `known` already holds are left out. */
export interface WritesPut {
  nsSubject: string;
  threadId: string;
  ns: string;
  checkpointId: string;
  taskId: string;
  path: string;
  writes: PendingWrite[];
  known: NamespaceView | undefined;
}

/**
 * Encodes puts into state messages (state-messages.ts builds the frames). A checkpoint stores the
 * values that changed since the namespace's latest snapshot (lists as deltas of its values) and
 * says where the others live, so a reader needs just the two; a new snapshot is taken when there
 * is none, when it is far behind, or when what changed since it has grown past a quarter of its
 * size. The values written are handed back (`own`), so the view keeps them without decoding.
 */
export class CheckpointEncoder {
  readonly #serde: SerializerProtocol;
  readonly #decoder: CheckpointDecoder;
  readonly #restoreDistance: number;
  readonly #maxFrame: () => number;

  constructor(opts: CheckpointEncoderOptions) {
    this.#serde = opts.serde;
    this.#decoder = opts.decoder;
    this.#restoreDistance = opts.restoreDistance;
    this.#maxFrame = opts.maxFrame;
  }

  async checkpoint(put: CheckpointPut): Promise<{ messages: Outgoing[]; own: OwnValues }> {
    const { nsSubject, threadId, ns, id, parentId, checkpoint, metadata, newVersions, nsView } = put;
    const values = checkpoint.channel_values ?? {};
    const { channel_values: _values, ...rest } = checkpoint;
    const own: OwnValues = new Map();
    const parentEntry = parentId ? nsView?.checkpoints.get(parentId) : undefined;
    const parentVersions = parentEntry
      ? (parentEntry.versions ?? (await this.#decoder.checkpoint(parentEntry)).checkpoint.channel_versions)
      : undefined;
    own.set(OWN_VERSIONS_KEY, { ...checkpoint.channel_versions });
    const has = (ch: string) => Object.prototype.hasOwnProperty.call(values, ch);
    // The namespace's latest snapshot (a checkpoint storing every value whole): this checkpoint
    // stores what changed since it (lists as deltas of its values), so a reader needs just the
    // two. A new snapshot is taken when there is none, when it is far behind, or when what
    // changed since it has grown past a quarter of its size.
    const snap = nsView?.snapshotId !== undefined ? nsView.checkpoints.get(nsView.snapshotId) : undefined;
    const snapVersions = snap ? (snap.versions ?? (await this.#decoder.checkpoint(snap)).checkpoint.channel_versions) : undefined;
    // Only new versions, and versions already stored (stored again here), may be written: a value
    // whose version was never stored is not this checkpoint's to store.
    const storable = (ch: string, v: string | number) => Object.hasOwn(newVersions, ch) || (nsView?.blobs.has(blobKey(ch, v)) ?? false);
    const emptyAt = (ch: string, v: string | number) => !has(ch) || (!Object.hasOwn(newVersions, ch) && nsView?.blobs.get(blobKey(ch, v))?.ty === "empty");
    // A list edited in place (the parent's very object) is stored whole: the server holds the old one.
    const editedInPlace = (ch: string) => {
      const pv = parentVersions?.[ch];
      const blob = pv === undefined ? undefined : nsView?.blobs.get(blobKey(ch, pv));
      return blob?.isDecoded === true && blob.decoded === values[ch];
    };
    const encode = async (snapshot: boolean) => {
      const stored: ChannelVersions = { ...newVersions };
      for (const [ch, v] of Object.entries(checkpoint.channel_versions)) {
        if (has(ch) && (snapshot || snapVersions?.[ch] !== v) && storable(ch, v)) stored[ch] = v;
      }
      const channels = Object.entries(stored);
      const deltas = channels.map(([ch]) =>
        snapshot || !snapVersions || editedInPlace(ch) ? undefined : listDelta(nsView, snapVersions, ch, values[ch]),
      );
      const blobs = await Promise.all(
        channels.map(([ch, v], i) => {
          if (emptyAt(ch, v)) return ["empty", new Uint8Array(0)] as [string, Uint8Array];
          own.set(ownBlobKey(ch), values[ch]);
          return this.#serde.dumpsTyped(deltas[i] ? deltas[i].extra : values[ch]);
        }),
      );
      return { stored, channels, deltas, blobs, bytes: blobs.reduce((n, b) => n + b[1].length, 0) };
    };
    let snapshot = !snap || !snapVersions || (parentEntry !== undefined && parentEntry.seq - snap.seq > this.#restoreDistance);
    let enc = await encode(snapshot);
    if (!snapshot && enc.bytes > Math.max(MIN_SNAPSHOT_BYTES, (snap!.size ?? 0) / 4)) enc = await encode((snapshot = true));
    const { stored, channels, deltas, blobs } = enc;
    const [cp, md] = await Promise.all([this.#serde.dumpsTyped(rest), this.#serde.dumpsTyped(metadata)]);
    const loc = locations(checkpoint.channel_versions, stored, parentEntry, parentId, parentVersions, snapshot ? undefined : snap?.id, snapVersions, snap?.stored);
    const messages = checkpointMessages({
      nsSubject,
      threadId,
      ns,
      id,
      parentId,
      checkpoint: cp,
      metadata: md,
      blobs: channels.map(([ch, v], i) => {
        const ref: BlobRef = { ch, v, ty: blobs[i][0] };
        if (deltas[i]) ref.d = { ...deltas[i].delta, at: snap!.id };
        return { ref, bytes: blobs[i][1] };
      }),
      loc,
      needs: needs(nsView, checkpoint.channel_versions, stored, loc, deltas.map((d) => d?.delta && { ...d.delta, at: snap!.id })),
      snapshot,
      maxFrame: this.#maxFrame(),
    });
    return { messages, own };
  }

  async writes(put: WritesPut): Promise<{ messages: Outgoing[]; own: OwnValues }> {
    const { nsSubject, threadId, ns, checkpointId, taskId, path, writes, known } = put;
    const own: OwnValues = new Map();
    const items = await Promise.all(
      writes.map(async ([channel, value], i) => {
        const idx = (WRITES_IDX_MAP as Record<string, number>)[channel] ?? i;
        const [ty, bytes] = await this.#serde.dumpsTyped(value);
        own.set(ownWriteKey(idx), value);
        return { ref: { idx, ch: channel, ty } satisfies WriteRef, bytes };
      }),
    );
    const messages = writeMessages({
      subject: `${nsSubject}.w.${encodeToken(checkpointId)}.${encodeToken(taskId)}`,
      threadId,
      ns,
      checkpointId,
      taskId,
      path,
      // A regular write this process already holds would be refused anyway: skip the round trip.
      items: items.filter((e) => e.ref.idx < 0 || !known?.hasWrite(checkpointId, taskId, e.ref.idx)),
      maxFrame: this.#maxFrame(),
    });
    return { messages, own };
  }

  async whole(nsSubject: string, threadId: string, ns: string, tuple: CheckpointTuple, writes: WriteEntry[]): Promise<Outgoing[]> {
    const { channel_values: values, ...rest } = tuple.checkpoint;
    // Pending sends of a pre-v4 checkpoint were read into its values: it is a v4 checkpoint now.
    if (rest.v < 4) rest.v = 4;
    const channels = Object.entries(rest.channel_versions);
    const [cp, md, ...blobs] = await Promise.all([
      this.#serde.dumpsTyped(rest),
      this.#serde.dumpsTyped(tuple.metadata ?? {}),
      ...channels.map(([ch]) =>
        Object.prototype.hasOwnProperty.call(values, ch)
          ? this.#serde.dumpsTyped(values[ch])
          : (["empty", new Uint8Array(0)] as [string, Uint8Array]),
      ),
    ]);
    const id = tuple.checkpoint.id;
    const out = checkpointMessages({
      nsSubject,
      threadId,
      ns,
      id,
      parentId: tuple.parentConfig?.configurable?.checkpoint_id as string | undefined,
      checkpoint: cp,
      metadata: md,
      blobs: channels.map(([ch, v], i) => ({ ref: { ch, v, ty: blobs[i][0] }, bytes: blobs[i][1] })),
      snapshot: true,
      maxFrame: this.#maxFrame(),
    });
    const byTask = new Map<string, WriteEntry[]>();
    for (const w of writes) {
      const list = byTask.get(w.task) ?? [];
      list.push(w);
      byTask.set(w.task, list);
    }
    for (const [task, list] of byTask) {
      const messages = writeMessages({
        subject: `${nsSubject}.w.${encodeToken(id)}.${encodeToken(task)}`,
        threadId,
        ns,
        checkpointId: id,
        taskId: task,
        path: list[0].path,
        items: list.map((w) => ({ ref: { idx: w.idx, ch: w.ch, ty: w.ty }, bytes: w.bytes ?? new Uint8Array(0) })),
        maxFrame: this.#maxFrame(),
      });
      // Stored again over the old copy, which the purge removes.
      out.push(...messages.map((m) => ({ ...m, ifAbsent: false })));
    }
    return out;
  }
}

/** Id of the checkpoint whose message (or chunks) holds `entry`'s version of `ch`. */
function valueLocation(entry: CheckpointEntry, id: string, ch: string): string | undefined {
  return entry.stored.has(ch) ? id : entry.loc?.[ch];
}

/**
 * For each channel a checkpoint does not store itself: the checkpoint that stored its version
 * (known from the parent when the version is the parent's), or "" when no checkpoint stored it
 * (a first checkpoint's channels outside newVersions, and what inherits them). Channels the
 * writer cannot place are left out; a reader missing one reads the whole thread.
 */
function locations(
  versions: ChannelVersions,
  newVersions: ChannelVersions,
  parent: CheckpointEntry | undefined,
  parentId: string | undefined,
  parentVersions: Record<string, string | number> | undefined,
  snapId?: string,
  snapVersions?: Record<string, string | number>,
  snapStored?: Set<string>,
): Record<string, string> | undefined {
  if (parentId !== undefined && (!parent || !parentVersions) && snapId === undefined) return undefined;
  const loc: Record<string, string> = {};
  let any = false;
  for (const [ch, v] of Object.entries(versions)) {
    if (Object.prototype.hasOwnProperty.call(newVersions, ch)) continue;
    let at: string | undefined;
    if (snapId !== undefined && snapVersions?.[ch] === v && snapStored?.has(ch)) at = snapId;
    else if (parentId === undefined) at = "";
    else if (parent && parentVersions?.[ch] === v) at = valueLocation(parent, parentId, ch);
    if (at !== undefined) {
      loc[ch] = at;
      any = true;
    }
  }
  return any ? loc : undefined;
}

/**
 * The other checkpoints whose messages hold what a read of this checkpoint needs: where its
 * unchanged channels live and the whole values its deltas (and theirs) refer to. Undefined when
 * one is not known here; the reader then finds them one by one.
 */
function needs(
  nsView: NamespaceView | undefined,
  versions: ChannelVersions,
  newVersions: ChannelVersions,
  loc: Record<string, string> | undefined,
  deltas: (BlobDelta | undefined)[],
): string[] | undefined {
  const ids = new Set<string>();
  const stored = Object.keys(newVersions);
  for (let i = 0; i < stored.length; i++) {
    const d = deltas[i];
    if (!d) continue;
    if (d.at === undefined) return undefined;
    ids.add(d.at);
  }
  for (const [ch, v] of Object.entries(versions)) {
    if (Object.prototype.hasOwnProperty.call(newVersions, ch)) continue;
    const at = loc?.[ch];
    if (at === undefined) return undefined;
    if (at === "") continue; // never stored
    ids.add(at);
    const blob = nsView?.blobs.get(blobKey(ch, v));
    if (!blob) return undefined;
    if (blob.delta) {
      if (blob.delta.at === undefined) return undefined;
      ids.add(blob.delta.at);
    }
  }
  return [...ids];
}
