import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  maxChannelVersion,
  TASKS,
  WRITES_IDX_MAP,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { type JetStreamClient, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import {
  ThreadView,
  blobKey,
  ownBlobKey,
  ownWriteKey,
  OWN_VERSIONS_KEY,
  type BlobDelta,
  type BlobEntry,
  type BlobRef,
  type CheckpointEntry,
  type NamespaceView,
  type OwnValues,
  type StateHeader,
  type WriteEntry,
  type WriteRef,
} from "./checkpoint-view.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { decodeFrame, encodeFrame } from "./frame.ts";
import { MessageMemoSerializer } from "./message-serde.ts";
import { AckedPublisher } from "./publish.ts";
import { checkpointMessages, HEADER_ROOM, listDelta, writeMessages, type Outgoing } from "./state-messages.ts";
import { readStream } from "./read-stream.ts";
import { StreamTail } from "./state-tail.ts";
import { Names } from "./streams.ts";
import { encodeToken } from "./subject-token.ts";
import { setImmediate as nextTurn } from "node:timers/promises";

/** What changed since the snapshot may grow to this size (or a quarter of the snapshot) before a new one. */
const MIN_SNAPSHOT_BYTES = 16 * 1024;
/** A tail that has not announced a stored message after this is replaced. */
const TAIL_STUCK_MS = 10_000;
/** Replaced tails in a row before a read gives up as a NATS outage (the caller may try again). */
const TAIL_STUCK_ROUNDS = 6;

export interface JetStreamCheckpointSaverOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Stream holding the state (default `VIBEWRITER_STATE`); it must exist. */
  stream?: string;
  /** Subject prefix the stream captures as `<prefix>.>` (default `vibewriter.state`). */
  subjectPrefix?: string;
  /** Default: `MessageMemoSerializer` (LangGraph's JSON format, message encodings remembered). */
  serde?: SerializerProtocol;
  /** Threads whose view stays in memory (least recently used are dropped first). */
  maxCachedThreads?: number;
  /** Give up on an unacknowledged write after this long (ms); below the 2-min dedup window. */
  writeDeadlineMs?: number;
  /**
   * When `putWrites` resolves. `"next-step"` (default): once its messages are encoded; they are
   * published at the end of the current event-loop turn, and their acknowledgement is awaited by
   * the thread's next put, getTuple, list or deleteThread (and by close), which fail if a write was
   * never acknowledged. That is LangGraph's own contract: its loop does not await putWrites either,
   * only the superstep barrier. `"each-call"`: putWrites resolves on the acknowledgement itself.
   */
  writeAcks?: "next-step" | "each-call";
  /**
   * An unchanged channel value whose message is more than this many stream sequences behind the
   * parent checkpoint is stored again with the new one (default 2048), so the messages a cold read
   * needs stay close together in the stream.
   */
  restoreDistance?: number;
}

interface DecodedCheckpoint {
  checkpoint: Omit<Checkpoint, "channel_values">;
  metadata: CheckpointMetadata;
}

/**
 * LangGraph checkpointer on JetStream. The agent's state is a set of messages under
 * `<prefix>.<thread>.<ns>.`: `c.<id>` a checkpoint together with the values that changed since the
 * namespace's latest snapshot (only versions that are new or already stored, as the Postgres saver
 * does; a value too large for one message goes to `b.<channel>.<version>.<chunk>` first),
 * `s.<id>` a snapshot (a checkpoint storing every value whole; taken when there is none, when it is
 * far behind, or when the changes since it pass a quarter of its size), `w.<id>.<task>` the
 * regular writes of a task (first write wins, enforced by the server with an expected subject
 * sequence of 0), `w.<id>.<task>.<idx>` special writes (replace), and `<prefix>.<thread>.x` after
 * deleteThread. Every write is acknowledged by JetStream; unacknowledged ones are retried with the
 * same msgID, so a write is stored once. A checkpoint is stored only after every pending write
 * published before it was acknowledged (see `writeAcks`).
 *
 * Reads: each process keeps a view of the threads it uses. A resume (a cold view) asks for the
 * namespace's last `c.*`, `s.*` and `w.>` and the thread's last message at once: one round trip
 * holds everything the latest checkpoint needs, usually. A live headers-only consumer on the stream
 * (started after what that read saw, not waited for) announces every stored message from any
 * process; a warm read asks for the thread's last sequence (one direct get, sent in the same socket
 * write as the thread's pending writes), waits until the tail has passed it and fetches any
 * announced message it has not applied. So a read sees every acknowledged write.
 *
 * Channel values are cached decoded by (channel, version) — including the objects this process
 * wrote — and shared between reads: treat the values in returned checkpoints as immutable
 * (LangGraph's built-in channels and reducers do). A list that grows by a few items per step (the
 * conversation) is stored as a delta of the snapshot's version (see state-messages.ts), and message
 * encodings are remembered (MessageMemoSerializer), so a put costs about one small acknowledged
 * publish. `compactThread` keeps only the latest checkpoint of each namespace (as a snapshot).
 */
export class JetStreamCheckpointSaver extends BaseCheckpointSaver {
  readonly stream: string;
  readonly prefix: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #publisher: AckedPublisher;
  readonly #maxThreads: number;
  readonly #deadline: number;
  /** Thread id → view; Map order is the LRU order. */
  readonly #views = new Map<string, ThreadView>();
  /** Subject token of a thread → its view (the tail only knows subjects). */
  readonly #byToken = new Map<string, ThreadView>();
  /** Threads whose history is being loaded → the load. */
  readonly #loading = new Map<string, Promise<void>>();
  #tail: Promise<StreamTail> | undefined;
  /** Pending writes published by putWrites and not acknowledged yet, per thread (`writeAcks`). */
  readonly #unacked = new Map<string, Set<Promise<void>>>();
  readonly #awaitEachWrite: boolean;
  readonly #restoreDistance: number;
  /** putWrites not published yet (they go at the end of the turn, or with the thread's next read or put). */
  readonly #queued = new Map<string, (() => Promise<void>)[]>();
  /** How far the live tail has read; infinite while there is no tail (nothing will be announced). */
  #tailWatermark = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(opts: JetStreamCheckpointSaverOptions) {
    super(opts.serde ?? new MessageMemoSerializer());
    this.#nc = opts.nc;
    this.#js = opts.js;
    this.#jsm = opts.jsm;
    this.#publisher = new AckedPublisher(opts.nc);
    this.stream = opts.stream ?? Names.stateStream;
    this.prefix = opts.subjectPrefix ?? Names.stateSubjectPrefix;
    this.#maxThreads = opts.maxCachedThreads ?? 64;
    this.#deadline = opts.writeDeadlineMs ?? 90_000;
    this.#awaitEachWrite = opts.writeAcks === "each-call";
    this.#restoreDistance = opts.restoreDistance ?? 2048;
  }

  /** put, putWrites, reads and deleteThread refuse once close() was called. */
  #assertOpen(): void {
    if (this.#closed) throw new NatsBackboneError(NatsErrorCode.Closed, "checkpointer is closed");
  }

  // ---- acknowledgements of pending writes ---------------------------------------------------

  #track(threadId: string, write: Promise<void>): void {
    let set = this.#unacked.get(threadId);
    if (!set) this.#unacked.set(threadId, (set = new Set()));
    set.add(write);
    const pending = set;
    // A failure stays in the set until a barrier reports it.
    write.then(
      () => {
        pending.delete(write);
        if (pending.size === 0 && this.#unacked.get(threadId) === pending) this.#unacked.delete(threadId);
      },
      () => {},
    );
  }

  /**
   * Waits for the acknowledgement of every pending write of `threadId` (of every thread when
   * undefined). Throws the first failure, once: the write it belonged to is lost, and the run that
   * made it must fail before its next checkpoint.
   */
  async #acked(threadId?: string): Promise<void> {
    this.#sendQueued(threadId);
    const sets = threadId === undefined ? [...this.#unacked.values()] : [this.#unacked.get(threadId)].filter((s) => s !== undefined);
    const writes = sets.flatMap((s) => [...s]);
    if (writes.length === 0) return;
    const results = await Promise.allSettled(writes);
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed === -1) return;
    for (const s of sets) for (const w of writes) s.delete(w);
    throw (results[failed] as PromiseRejectedResult).reason;
  }

  /** Publish now the writes of `threadId` (of every thread when undefined) waiting for the turn's end. */
  #sendQueued(threadId?: string): void {
    const ids = threadId === undefined ? [...this.#queued.keys()] : [threadId];
    for (const id of ids) {
      const sends = this.#queued.get(id);
      if (!sends) continue;
      this.#queued.delete(id);
      for (const send of sends) send();
    }
  }

  // ---- subjects -------------------------------------------------------------------------

  #threadSubject(threadId: string): string {
    return `${this.prefix}.${encodeToken(threadId)}`;
  }
  #nsSubject(threadId: string, ns: string): string {
    return `${this.#threadSubject(threadId)}.${encodeToken(ns)}`;
  }
  #maxFrame(): number {
    return Math.max(64 * 1024, (this.#nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM);
  }

  // ---- the view ---------------------------------------------------------------------------

  /**
   * The live tail, started on first use: from `from` when given (a cold read that has just read
   * a thread up to `from - 1`; it does not wait for the consumer), else from the stream's end.
   */
  #startTail(from?: number): Promise<StreamTail> {
    if (!this.#tail) {
      const tokenAt = this.prefix.split(".").length;
      if (from !== undefined) this.#tailWatermark = from - 1;
      this.#tail = StreamTail.start(
        this.#js,
        this.#jsm,
        this.stream,
        `${this.prefix}.>`,
        (seq, subject) => {
          this.#tailWatermark = seq;
          const token = subject.split(".", tokenAt + 1)[tokenAt];
          this.#byToken.get(token)?.announced(seq);
        },
        from,
      ).then(
        (tail) => {
          this.#tailWatermark = tail.watermark;
          return tail;
        },
        (err: unknown) => {
          // Views kept while it was starting may lack what it should have announced.
          this.#tail = undefined;
          this.#tailWatermark = Number.POSITIVE_INFINITY;
          this.#views.clear();
          this.#byToken.clear();
          throw new NatsBackboneError(NatsErrorCode.Connect, `cannot follow stream ${this.stream}`, { cause: err });
        },
      );
    }
    return this.#tail;
  }

  /** A new tail from the first sequence `stuck` has not announced (once, however many readers saw it stuck). */
  async #replaceTail(stuck: StreamTail): Promise<void> {
    const current = await this.#tail?.catch(() => undefined);
    if (current === stuck) {
      this.#tail = undefined;
      void stuck.stop();
      await this.#startTail(stuck.watermark + 1).catch(() => {});
    }
  }

  #apply(view: ThreadView, seq: number, data: Uint8Array, own?: OwnValues): void {
    const { header, parts } = decodeFrame<StateHeader>(data);
    if (header.t !== view.threadId) return; // a hashed-token collision would land here; never mix threads
    view.apply(seq, header, parts, this.#tailWatermark, own);
  }

  /** Every message of `filter` currently stored. */
  #readAll(filter: string, onMessage: (seq: number, data: Uint8Array) => void): Promise<void> {
    return readStream(this.#js, this.stream, filter, (m) => onMessage(m.seq, m.data));
  }

  /**
   * The thread's view, holding every message stored for it up to now (read-your-writes and
   * other processes' acknowledged writes). One direct get when the view is warm. With `latestOf`,
   * a cold view only needs that namespace's latest checkpoint, its values and writes (a resume),
   * read with a few direct gets in two or three round trips instead of the whole history.
   */
  async #freshView(threadId: string, latestOf?: string, stuckRounds = 0): Promise<ThreadView> {
    this.#assertOpen();
    // A tail started before this read announces everything stored after it. Without one, this
    // read starts it right after the thread's last message (a cold read does not wait for it).
    const tail = this.#tail ? await this.#startTail() : undefined;
    let view = this.#views.get(threadId);
    if (!view) {
      // Registered before anything is read, so the tail announces whatever lands meanwhile.
      view = new ThreadView(threadId);
    }
    this.#remember(threadId, view);
    const enough = () => view.loaded || (latestOf !== undefined && view.latestLoaded.has(latestOf));
    const cold = !enough() && !this.#loading.has(threadId);
    for (let loading = this.#loading.get(threadId); loading; loading = this.#loading.get(threadId)) await loading;
    const subject = `${this.#threadSubject(threadId)}.>`;
    // A resume reads the namespace's latest checkpoint, its latest snapshot and its latest write
    // along with the thread's last message: usually everything the read needs, in one round trip.
    const nsSubject = !enough() && latestOf !== undefined ? this.#nsSubject(threadId, latestOf) : undefined;
    const get = (subj: string) => this.#jsm.direct.getMessage(this.stream, { last_by_subj: subj });
    // Own pending writes go out with the reads (one socket write); the view gets them from their
    // acknowledgements (read your own writes), whatever order the server handles the two in.
    this.#sendQueued(threadId);
    const reads = Promise.all([
      get(subject),
      ...(nsSubject ? [get(`${nsSubject}.c.*`), get(`${nsSubject}.s.*`), get(`${nsSubject}.w.>`)] : []),
    ]);
    const acked = this.#acked(threadId);
    reads.catch(() => {}); // reported below, after a failed write
    await acked;
    const [last, ...latest] = await reads;
    if (!tail && (!last || this.#tail)) {
      // Nothing to start the tail after (or another read started it meanwhile, maybe after what
      // this one read): start it the ordinary way, then read again.
      await this.#startTail();
      return this.#freshView(threadId, latestOf);
    }
    if (!tail) void this.#startTail(last!.seq + 1).catch(() => {});
    if (!last) {
      view.loaded = true;
      if (!cold && view.namespaces.size > 0) {
        // Purged without a marker (e.g. by hand): start over.
        this.#forget(threadId);
        return this.#freshView(threadId, latestOf);
      }
      return view;
    }
    if (!enough()) {
      const load = (async () => {
        if (latestOf !== undefined && (latest[0] || latest[1]) && (await this.#loadLatest(view, threadId, latestOf, latest))) {
          view.latestLoaded.add(latestOf);
          return;
        }
        await this.#readAll(subject, (seq, data) => this.#apply(view, seq, data));
        view.loaded = true;
      })();
      this.#loading.set(threadId, load);
      try {
        await load;
      } catch (err) {
        this.#forget(threadId);
        throw err;
      } finally {
        this.#loading.delete(threadId);
      }
    }
    this.#apply(view, last.seq, last.data);
    if (tail && last.seq > tail.watermark && !(await tail.waitFor(last.seq, TAIL_STUCK_MS))) {
      // The live tail is stuck: recreating itself after a restart, or for ever when its consumer's
      // server died on a cluster (nats.js on nats-server 2.9 kept asking the dead consumer). A new
      // tail after the last message announced keeps the views whole; then read the thread again.
      if (stuckRounds + 1 >= TAIL_STUCK_ROUNDS) {
        throw new NatsBackboneError(NatsErrorCode.Connect, `stream ${this.stream} delivered nothing new for ${(TAIL_STUCK_ROUNDS * TAIL_STUCK_MS) / 1000} s`, { cause: new errors.TimeoutError() });
      }
      await this.#replaceTail(tail);
      this.#forget(threadId);
      return this.#freshView(threadId, latestOf, stuckRounds + 1);
    }
    if (view.missing.size > 0) {
      const seqs = [...view.missing];
      const msgs = await Promise.all(seqs.map((seq) => this.#jsm.direct.getMessage(this.stream, { seq })));
      msgs.forEach((m, i) => {
        if (m) this.#apply(view, m.seq, m.data);
        else view.missing.delete(seqs[i]); // purged since
      });
    }
    return view;
  }

  /**
   * Read only what the namespace's latest checkpoint needs: its message (`latest`, the last one
   * stored on `c.*`; ids are time-ordered uuid6, so it is the newest), the messages its header
   * names as holding its other values and delta bases (`a`, fetched at once), and its writes.
   * Anything still missing is looked for one by one; false when something cannot be placed (old
   * messages, large chunked values): read everything.
   */
  async #loadLatest(view: ThreadView, threadId: string, ns: string, latest: (StoredMsg | null)[]): Promise<boolean> {
    const nsSubject = this.#nsSubject(threadId, ns);
    const fetched = new Map<string, Promise<void>>();
    const fetch = (subject: string): Promise<void> => {
      let p = fetched.get(subject);
      if (!p) {
        p = this.#jsm.direct.getMessage(this.stream, { last_by_subj: subject }).then((m) => {
          if (m) this.#apply(view, m.seq, m.data);
        });
        fetched.set(subject, p);
      }
      return p;
    };
    // A checkpoint's message is `c.<id>`, or `s.<id>` for a snapshot.
    const fetchCheckpoint = (id: string) => fetch(`${nsSubject}.*.${encodeToken(id)}`);
    const [checkpointMsg, snapshotMsg, lastWrite] = latest;
    for (const m of [snapshotMsg, checkpointMsg]) if (m) this.#apply(view, m.seq, m.data);
    const nsView = view.namespaces.get(ns);
    const id = nsView?.latestId();
    if (!nsView || id === undefined) return false;
    const entry = nsView.checkpoints.get(id)!;
    const prefetch = Promise.all((entry.needs ?? []).filter((at) => !nsView.checkpoints.has(at)).map(fetchCheckpoint));
    // Writes of a checkpoint are stored after it: none when the newest write is older; just that
    // one when it is the very next message; else they are looked up.
    let writes: Promise<void> = Promise.resolve();
    if (lastWrite && lastWrite.seq > entry.seq) {
      if (lastWrite.seq === entry.seq + 1) this.#apply(view, lastWrite.seq, lastWrite.data);
      if (lastWrite.seq !== entry.seq + 1 || !nsView.writes.has(id)) writes = this.#readWrites(view, nsSubject, id, entry.seq);
    }
    const { checkpoint } = await this.#decodeCheckpoint(entry);
    if (checkpoint.v < 4) {
      await Promise.all([prefetch, writes]);
      return false; // pending sends live in the parent's writes
    }
    await prefetch;
    const place = async (ch: string, v: string | number, at: string | undefined, depth: number): Promise<boolean> => {
      const key = blobKey(ch, v);
      if (at === "" && !nsView.blobs.has(key)) return true; // never stored: the channel has no value
      if (!nsView.blobs.has(key) && at !== undefined) await fetchCheckpoint(at);
      if (!nsView.blobs.has(key)) return false;
      const delta = nsView.blobs.get(key)!.delta;
      if (!delta) return true;
      return depth < 64 && place(ch, delta.bv, delta.at, depth + 1);
    };
    const placed = await Promise.all(
      Object.entries(checkpoint.channel_versions).map(([ch, v]) =>
        place(ch, v, entry.stored.has(ch) ? id : entry.loc?.[ch], 0),
      ),
    );
    await writes;
    return placed.every(Boolean);
  }

  /**
   * The writes of checkpoint `id`, stored after it (from sequence `from`): the first and the last
   * at once, and whatever lies between them one by one (usually nothing).
   */
  async #readWrites(view: ThreadView, nsSubject: string, id: string, from: number): Promise<void> {
    const filter = `${nsSubject}.w.${encodeToken(id)}.>`;
    const [first, last] = await Promise.all([
      this.#jsm.direct.getMessage(this.stream, { seq: from, next_by_subj: filter }),
      this.#jsm.direct.getMessage(this.stream, { last_by_subj: filter }),
    ]);
    if (!first || !last) return;
    this.#apply(view, first.seq, first.data);
    this.#apply(view, last.seq, last.data);
    for (let seq = first.seq; seq < last.seq; ) {
      const m = await this.#jsm.direct.getMessage(this.stream, { seq: seq + 1, next_by_subj: filter });
      if (!m || m.seq >= last.seq) break;
      this.#apply(view, m.seq, m.data);
      seq = m.seq;
    }
  }

  /** Every value of the namespace's latest checkpoint (and its delta bases) is in the view. */
  async #latestComplete(view: ThreadView, ns: string): Promise<boolean> {
    const nsView = view.namespaces.get(ns);
    const id = nsView?.latestId();
    if (!nsView || id === undefined) return true;
    const entry = nsView.checkpoints.get(id)!;
    const { checkpoint } = await this.#decodeCheckpoint(entry);
    for (const [ch, v] of Object.entries(checkpoint.channel_versions)) {
      if (entry.loc?.[ch] === "" && !nsView.blobs.has(blobKey(ch, v))) continue; // never stored
      for (let key: string | undefined = blobKey(ch, v), depth = 0; key !== undefined; depth++) {
        const blob = nsView.blobs.get(key);
        if (!blob || depth > 64) return false;
        key = blob.delta ? blobKey(ch, blob.delta.bv) : undefined;
      }
    }
    return true;
  }

  #remember(threadId: string, view: ThreadView): void {
    this.#views.delete(threadId);
    this.#views.set(threadId, view);
    this.#byToken.set(encodeToken(threadId), view);
    while (this.#views.size > this.#maxThreads) {
      const oldest = this.#views.keys().next().value as string;
      this.#forget(oldest);
    }
  }

  #forget(threadId: string): void {
    this.#views.delete(threadId);
    this.#byToken.delete(encodeToken(threadId));
  }

  // ---- decoding ---------------------------------------------------------------------------

  async #decodeCheckpoint(e: CheckpointEntry): Promise<DecodedCheckpoint> {
    if (!e.decoded) {
      const [cp, md] = await Promise.all([this.serde.loadsTyped(e.ty, e.cp), this.serde.loadsTyped(e.mty, e.md)]);
      e.decoded = { checkpoint: cp, metadata: md } satisfies DecodedCheckpoint;
    }
    return e.decoded as DecodedCheckpoint;
  }

  async #decodeValue(e: BlobEntry | WriteEntry, nsView?: NamespaceView, ch?: string): Promise<unknown> {
    if (!e.isDecoded) {
      if (!e.bytes) throw new NatsBackboneError(NatsErrorCode.Corrupt, "a chunked channel value is incomplete");
      const value = await this.serde.loadsTyped(e.ty, e.bytes);
      const delta = (e as BlobEntry).delta;
      if (delta) {
        const base = nsView?.blobs.get(blobKey(ch!, delta.bv));
        if (!base) {
          throw new NatsBackboneError(NatsErrorCode.Corrupt, `channel "${ch}" refers to a missing version ${delta.bv}`);
        }
        const baseValue = await this.#decodeValue(base, nsView, ch);
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

  async #tuple(threadId: string, ns: string, nsView: NamespaceView, e: CheckpointEntry): Promise<CheckpointTuple> {
    const { checkpoint: base, metadata } = await this.#decodeCheckpoint(e);
    const channel_values: Record<string, unknown> = {};
    const pending: Promise<void>[] = [];
    for (const [ch, ver] of Object.entries(base.channel_versions)) {
      const blob = nsView.blobs.get(blobKey(ch, ver));
      if (!blob || blob.ty === "empty" || (!blob.bytes && !blob.isDecoded)) continue;
      if (blob.isDecoded) channel_values[ch] = blob.decoded;
      else pending.push(this.#decodeValue(blob, nsView, ch).then((v) => void (channel_values[ch] = v)));
    }
    const writes = nsView.orderedWrites(e.id);
    const pendingWrites = await Promise.all(
      writes.map(async (w) => [w.task, w.ch, w.isDecoded ? w.decoded : await this.#decodeValue(w)] as [string, string, unknown]),
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
    checkpoint.channel_values[TASKS] = await Promise.all(sends.map((w) => this.#decodeValue(w)));
    checkpoint.channel_versions[TASKS] =
      Object.keys(checkpoint.channel_versions).length > 0
        ? maxChannelVersion(...Object.values(checkpoint.channel_versions))
        : this.getNextVersion(undefined);
  }

  // ---- BaseCheckpointSaver ----------------------------------------------------------------

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = optionalId(config.configurable?.thread_id, "thread_id");
    if (threadId === undefined) return undefined;
    const ns = optionalId(config.configurable?.checkpoint_ns, "checkpoint_ns") ?? "";
    const checkpointId = optionalId(config.configurable?.checkpoint_id, "checkpoint_id");
    let view = await this.#freshView(threadId, checkpointId ? undefined : ns);
    if (!view.loaded && !(await this.#latestComplete(view, ns))) {
      // A resumed view that no longer covers the latest checkpoint (e.g. a fork off an old one).
      view.latestLoaded.clear();
      view = await this.#freshView(threadId);
    }
    const nsView = view.namespaces.get(ns);
    if (!nsView) return undefined;
    const id = checkpointId || nsView.latestId();
    if (id === undefined) return undefined;
    const entry = nsView.checkpoints.get(id);
    if (!entry) return undefined;
    return this.#tuple(threadId, ns, nsView, entry);
  }

  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const { limit, before, filter } = options ?? {};
    const threadId = optionalId(config.configurable?.thread_id, "thread_id");
    const nsFilter = optionalId(config.configurable?.checkpoint_ns, "checkpoint_ns");
    const idFilter = optionalId(config.configurable?.checkpoint_id, "checkpoint_id");
    const beforeId = optionalId(before?.configurable?.checkpoint_id, "before.checkpoint_id");
    if (threadId === undefined) await this.#acked();
    const views = threadId !== undefined ? [await this.#freshView(threadId)] : [...(await this.#scanAll()).values()];
    const filterEntries = Object.entries(filter ?? {}).filter(([, v]) => v !== undefined);
    const candidates: { view: ThreadView; ns: string; nsView: NamespaceView; entry: CheckpointEntry }[] = [];
    for (const view of views) {
      for (const [ns, nsView] of view.namespaces) {
        if (nsFilter !== undefined && ns !== nsFilter) continue;
        for (const id of nsView.idsDescending()) {
          if (idFilter && id !== idFilter) continue;
          if (beforeId !== undefined && id >= beforeId) continue;
          candidates.push({ view, ns, nsView, entry: nsView.checkpoints.get(id)! });
        }
      }
    }
    candidates.sort((a, b) => (a.entry.id < b.entry.id ? 1 : a.entry.id > b.entry.id ? -1 : 0));
    let remaining = limit ?? Infinity;
    for (const c of candidates) {
      if (remaining <= 0) break;
      if (filterEntries.length > 0) {
        const md = (await this.#decodeCheckpoint(c.entry)).metadata as Record<string, unknown>;
        if (!filterEntries.every(([k, v]) => jsonEqual(md[k], v))) continue;
      }
      remaining -= 1;
      yield await this.#tuple(c.view.threadId, c.ns, c.nsView, c.entry);
    }
  }

  /** Views of every thread in the stream (for list() without a thread id); not cached. */
  async #scanAll(): Promise<Map<string, ThreadView>> {
    const views = new Map<string, ThreadView>();
    const info = await this.#jsm.streams.info(this.stream);
    if (info.state.messages === 0) return views;
    await this.#readAll(`${this.prefix}.>`, (seq, data) => {
      const { header } = decodeFrame<StateHeader>(data);
      let view = views.get(header.t);
      if (!view) views.set(header.t, (view = new ThreadView(header.t)));
      this.#apply(view, seq, data);
    });
    return views;
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (!config.configurable) throw invalid("put: config.configurable is missing");
    const threadId = optionalId(config.configurable.thread_id, "thread_id");
    if (threadId === undefined) throw invalid('put: config.configurable is missing "thread_id"');
    const ns = optionalId(config.configurable.checkpoint_ns, "checkpoint_ns") ?? "";
    const parentId = optionalId(config.configurable.checkpoint_id, "checkpoint_id");
    const id = optionalId(checkpoint.id, "checkpoint.id");
    if (!id) throw invalid("put: checkpoint.id is missing");
    this.#assertOpen();
    const values = checkpoint.channel_values ?? {};
    const { channel_values: _values, ...rest } = checkpoint;
    const own: OwnValues = new Map();

    if (parentId && !this.#views.get(threadId)?.namespaces.get(ns)?.checkpoints.has(parentId)) {
      // A parent this process has not seen (a put before any read): read the latest checkpoint,
      // so this one can say where its unchanged values live and store deltas.
      await this.#freshView(threadId, ns);
    }
    const nsView = this.#views.get(threadId)?.namespaces.get(ns);
    const parentEntry = parentId ? nsView?.checkpoints.get(parentId) : undefined;
    const parentVersions = parentEntry
      ? (parentEntry.versions ?? (await this.#decodeCheckpoint(parentEntry)).checkpoint.channel_versions)
      : undefined;
    own.set(OWN_VERSIONS_KEY, { ...checkpoint.channel_versions });
    const has = (ch: string) => Object.prototype.hasOwnProperty.call(values, ch);
    // The namespace's latest snapshot (a checkpoint storing every value whole): this checkpoint
    // stores what changed since it (lists as deltas of its values), so a reader needs just the
    // two. A new snapshot is taken when there is none, when it is far behind, or when what
    // changed since it has grown past a quarter of its size.
    const snap = nsView?.snapshotId !== undefined ? nsView.checkpoints.get(nsView.snapshotId) : undefined;
    const snapVersions = snap ? (snap.versions ?? (await this.#decodeCheckpoint(snap)).checkpoint.channel_versions) : undefined;
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
          return this.serde.dumpsTyped(deltas[i] ? deltas[i].extra : values[ch]);
        }),
      );
      return { stored, channels, deltas, blobs, bytes: blobs.reduce((n, b) => n + b[1].length, 0) };
    };
    let snapshot = !snap || !snapVersions || (parentEntry !== undefined && parentEntry.seq - snap.seq > this.#restoreDistance);
    let enc = await encode(snapshot);
    if (!snapshot && enc.bytes > Math.max(MIN_SNAPSHOT_BYTES, (snap!.size ?? 0) / 4)) enc = await encode((snapshot = true));
    const { stored, channels, deltas, blobs } = enc;
    const [cp, md] = await Promise.all([this.serde.dumpsTyped(rest), this.serde.dumpsTyped(metadata)]);
    const loc = locations(checkpoint.channel_versions, stored, parentEntry, parentId, parentVersions, snapshot ? undefined : snap?.id, snapVersions, snap?.stored);
    const messages = checkpointMessages({
      nsSubject: this.#nsSubject(threadId, ns),
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
    // The writes of the step before come first (their acks arrived while this was encoded).
    await this.#acked(threadId);
    await this.#publishAll(threadId, messages, own);
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    if (!config.configurable) throw invalid("putWrites: config.configurable is missing");
    const threadId = optionalId(config.configurable.thread_id, "thread_id");
    if (threadId === undefined) throw invalid('putWrites: config.configurable is missing "thread_id"');
    const ns = optionalId(config.configurable.checkpoint_ns, "checkpoint_ns") ?? "";
    const checkpointId = optionalId(config.configurable.checkpoint_id, "checkpoint_id");
    if (!checkpointId) throw invalid('putWrites: config.configurable is missing "checkpoint_id"');
    if (typeof taskId !== "string") throw invalid("putWrites: taskId must be a string");
    this.#assertOpen();
    const known = this.#views.get(threadId)?.namespaces.get(ns);
    const own: OwnValues = new Map();
    const items = await Promise.all(
      writes.map(async ([channel, value], i) => {
        const idx = (WRITES_IDX_MAP as Record<string, number>)[channel] ?? i;
        const [ty, bytes] = await this.serde.dumpsTyped(value);
        own.set(ownWriteKey(idx), value);
        return { ref: { idx, ch: channel, ty } satisfies WriteRef, bytes };
      }),
    );
    const messages = writeMessages({
      subject: `${this.#nsSubject(threadId, ns)}.w.${encodeToken(checkpointId)}.${encodeToken(taskId)}`,
      threadId,
      ns,
      checkpointId,
      taskId,
      path: taskPath ?? "",
      // A regular write this process already holds would be refused anyway: skip the round trip.
      items: items.filter((e) => e.ref.idx < 0 || !known?.hasWrite(checkpointId, taskId, e.ref.idx)),
      maxFrame: this.#maxFrame(),
    });
    if (this.#awaitEachWrite) return this.#publishAll(threadId, messages, own);
    // Encoded now (bad values fail here); published when this turn of the event loop ends, so the
    // writes of tasks finishing together share one socket write; acknowledged by the next barrier.
    // A read or put of the thread sends them at once, in the same socket write as its own request.
    let sent: Promise<void> | undefined;
    const send = () => (sent ??= this.#publishAll(threadId, messages, own));
    const queue = this.#queued.get(threadId) ?? [];
    queue.push(send);
    this.#queued.set(threadId, queue);
    this.#track(
      threadId,
      nextTurn().then(() => {
        this.#sendQueued(threadId);
        return send();
      }),
    );
  }

  /** Publish all at once, await every ack (unacked ones are retried with the same msgID). */
  async #publishAll(threadId: string, messages: Outgoing[], own: OwnValues): Promise<void> {
    if (messages.length === 0) return;
    // A view from this write on (history is read on the first read), so the values written here
    // are kept decoded and the next put of this thread can store a delta.
    let view = this.#views.get(threadId);
    if (!view) this.#remember(threadId, (view = new ThreadView(threadId)));
    const results = await Promise.all(
      messages.map((m) => this.#publisher.publish(m.subject, m.data, { ifAbsent: m.ifAbsent, deadlineMs: this.#deadline })),
    );
    results.forEach((r, i) => {
      if (r.stored) view.apply(r.ack.seq, messages[i].header, messages[i].parts, this.#tailWatermark, own);
    });
  }

  async deleteThread(threadId: string): Promise<void> {
    const id = optionalId(threadId, "thread_id");
    if (id === undefined) throw invalid("deleteThread: thread id is missing");
    this.#assertOpen();
    const subject = this.#threadSubject(id);
    // A write still in flight must not land after the purge; a lost one no longer matters.
    await this.#acked(id).catch(() => {});
    await this.#jsm.streams.purge(this.stream, { filter: `${subject}.>` });
    const header = { k: "x", t: id } as const;
    const r = await this.#publisher.publish(`${subject}.x`, encodeFrame(header, []), { deadlineMs: this.#deadline });
    if (r.stored) this.#views.get(id)?.apply(r.ack.seq, header, [], this.#tailWatermark);
  }

  /**
   * Keep only the latest checkpoint of every namespace of the thread, with its pending writes;
   * drop every older checkpoint, value and write. The kept checkpoints are stored again, each
   * whole in one message (every channel value in it, no delta), then everything of the thread
   * stored before them is purged. `removed` counts the checkpoints dropped. Meant for threads no
   * process is writing any more (a write landing between the read and the purge would be lost).
   */
  async compactThread(threadId: string): Promise<{ removed: number }> {
    const id = optionalId(threadId, "thread_id");
    if (id === undefined) throw invalid("compactThread: thread id is missing");
    this.#assertOpen();
    const view = await this.#freshView(id);
    let total = 0;
    const kept: Outgoing[] = [];
    for (const [ns, nsView] of view.namespaces) {
      total += nsView.checkpoints.size;
      const latest = nsView.latestId();
      if (latest === undefined) continue;
      const tuple = await this.#tuple(id, ns, nsView, nsView.checkpoints.get(latest)!);
      kept.push(...(await this.#wholeMessages(id, ns, tuple, nsView.orderedWrites(latest))));
    }
    const removed = total - kept.filter((m) => m.header.k === "c").length;
    if (removed === 0) return { removed: 0 };
    const results = await Promise.all(kept.map((m) => this.#publisher.publish(m.subject, m.data, { deadlineMs: this.#deadline })));
    const first = Math.min(...results.map((r) => (r.stored ? r.ack.seq : Number.POSITIVE_INFINITY)));
    // Everything of the thread stored before the first message written again.
    await this.#jsm.streams.purge(this.stream, { filter: `${this.#threadSubject(id)}.>`, seq: first });
    this.#forget(id); // read again, as any other process would
    return { removed };
  }

  /** A checkpoint stored whole: all its values in its own message (or chunks), then its writes. */
  async #wholeMessages(threadId: string, ns: string, tuple: CheckpointTuple, writes: WriteEntry[]): Promise<Outgoing[]> {
    const { channel_values: values, ...rest } = tuple.checkpoint;
    // Pending sends of a pre-v4 checkpoint were read into its values: it is a v4 checkpoint now.
    if (rest.v < 4) rest.v = 4;
    const channels = Object.entries(rest.channel_versions);
    const [cp, md, ...blobs] = await Promise.all([
      this.serde.dumpsTyped(rest),
      this.serde.dumpsTyped(tuple.metadata ?? {}),
      ...channels.map(([ch]) =>
        Object.prototype.hasOwnProperty.call(values, ch)
          ? this.serde.dumpsTyped(values[ch])
          : (["empty", new Uint8Array(0)] as [string, Uint8Array]),
      ),
    ]);
    const nsSubject = this.#nsSubject(threadId, ns);
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

  /** Stop the live tail (the connection stays open; it belongs to the caller). */
  async close(): Promise<void> {
    this.#closed = true;
    // Pending writes are waited for, not abandoned (a failure has no run left to fail here).
    await this.#acked().catch(() => {});
    const tail = await this.#tail?.catch(() => undefined);
    await tail?.stop();
    this.#views.clear();
    this.#byToken.clear();
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

function invalid(message: string): NatsBackboneError {
  return new NatsBackboneError(NatsErrorCode.InvalidArgument, message);
}

/** Ids arrive from user config: strings (or numbers, which LangGraph allows for thread ids). */
function optionalId(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw invalid(`${field} must be a string, got ${Array.isArray(value) ? "array" : typeof value}`);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
