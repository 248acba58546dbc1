import {
  maxChannelVersion,
  TASKS,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointTuple,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { blobKey, type BlobEntry, type CheckpointEntry, type NamespaceView, type WriteEntry } from "./checkpoint-view.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

export interface DecodedCheckpoint {
  checkpoint: Omit<Checkpoint, "channel_values">;
  metadata: CheckpointMetadata;
}

/**
 * Decodes what a thread's view holds into LangGraph's checkpoints: each entry is decoded once and
 * the result cached on it (shared between reads: treat returned values as immutable), a list
 * stored as a delta is rebuilt from its whole base, and a checkpoint older than v4 gets its
 * pending sends back from its parent's writes.
 */
export class CheckpointDecoder {
  readonly #serde: SerializerProtocol;
  readonly #firstVersion: () => string | number;

  /** `firstVersion`: the saver's `getNextVersion(undefined)`, for a migrated channel of an empty checkpoint. */
  constructor(serde: SerializerProtocol, firstVersion: () => string | number) {
    this.#serde = serde;
    this.#firstVersion = firstVersion;
  }

  async checkpoint(e: CheckpointEntry): Promise<DecodedCheckpoint> {
    if (!e.decoded) {
      const [cp, md] = await Promise.all([this.#serde.loadsTyped(e.ty, e.cp), this.#serde.loadsTyped(e.mty, e.md)]);
      e.decoded = { checkpoint: cp, metadata: md } satisfies DecodedCheckpoint;
    }
    return e.decoded as DecodedCheckpoint;
  }

  async value(e: BlobEntry | WriteEntry, nsView?: NamespaceView, ch?: string): Promise<unknown> {
    if (!e.isDecoded) {
      if (!e.bytes) throw new NatsBackboneError(NatsErrorCode.Corrupt, "a chunked channel value is incomplete");
      const value = await this.#serde.loadsTyped(e.ty, e.bytes);
      const delta = (e as BlobEntry).delta;
      if (delta) {
        const base = nsView?.blobs.get(blobKey(ch!, delta.bv));
        if (!base) {
          throw new NatsBackboneError(NatsErrorCode.Corrupt, `channel "${ch}" refers to a missing version ${delta.bv}`);
        }
        const baseValue = await this.value(base, nsView, ch);
        if (!Array.isArray(baseValue) || !Array.isArray(value)) {
          throw new NatsBackboneError(NatsErrorCode.Corrupt, `channel "${ch}" delta is not a list`);
        }
        const whole = baseValue.slice(delta.drop).concat(value);
        if (whole.length !== delta.n) {
          throw new NatsBackboneError(NatsErrorCode.Corrupt, `channel "${ch}" rebuilt to ${whole.length} items, expected ${delta.n}`);
        }
        e.decoded = whole;
      } else {
        e.decoded = value;
      }
      e.isDecoded = true;
      if (Array.isArray(e.decoded)) (e as BlobEntry).length = e.decoded.length;
    }
    return e.decoded;
  }

  async tuple(threadId: string, ns: string, nsView: NamespaceView, e: CheckpointEntry): Promise<CheckpointTuple> {
    const { checkpoint: base, metadata } = await this.checkpoint(e);
    const channel_values: Record<string, unknown> = {};
    const pending: Promise<void>[] = [];
    for (const [ch, ver] of Object.entries(base.channel_versions)) {
      const blob = nsView.blobs.get(blobKey(ch, ver));
      if (!blob || blob.ty === "empty" || (!blob.bytes && !blob.isDecoded)) continue;
      if (blob.isDecoded) channel_values[ch] = blob.decoded;
      else pending.push(this.value(blob, nsView, ch).then((v) => void (channel_values[ch] = v)));
    }
    const writes = nsView.orderedWrites(e.id);
    const pendingWrites = await Promise.all(
      writes.map(async (w) => [w.task, w.ch, w.isDecoded ? w.decoded : await this.value(w)] as [string, string, unknown]),
    );
    await Promise.all(pending);
    const versionsSeen: Checkpoint["versions_seen"] = {};
    for (const [k, v] of Object.entries(base.versions_seen ?? {})) versionsSeen[k] = { ...v };
    const checkpoint = {
      ...base,
      channel_values,
      channel_versions: { ...base.channel_versions },
      versions_seen: versionsSeen,
    } as Checkpoint;
    if (checkpoint.v < 4 && e.parent !== undefined) await this.#migratePendingSends(checkpoint, nsView, e.parent);
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: e.id } },
      checkpoint,
      metadata: { ...metadata },
      pendingWrites,
    };
    if (e.parent !== undefined) {
      tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: e.parent } };
    }
    return tuple;
  }

  /** Checkpoints before v4 kept pending sends as writes to TASKS on the parent. */
  async #migratePendingSends(checkpoint: Checkpoint, nsView: NamespaceView, parentId: string): Promise<void> {
    const sends = nsView.orderedWrites(parentId).filter((w) => w.ch === TASKS);
    checkpoint.channel_values[TASKS] = await Promise.all(sends.map((w) => this.value(w)));
    checkpoint.channel_versions[TASKS] =
      Object.keys(checkpoint.channel_versions).length > 0
        ? maxChannelVersion(...Object.values(checkpoint.channel_versions))
        : this.#firstVersion();
  }
}
