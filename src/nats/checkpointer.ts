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
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  ThreadView,
  blobKey,
  type BlobEntry,
  type BlobHeader,
  type CheckpointEntry,
  type CheckpointHeader,
  type NamespaceView,
  type StateHeader,
  type WriteEntry,
  type WriteHeader,
} from "./checkpoint-view.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { decodeFrame, encodeFrame } from "./frame.ts";
import { publishAcked } from "./publish.ts";
import { StreamTail } from "./state-tail.ts";
import { Names } from "./streams.ts";
import { encodeToken } from "./subject-token.ts";

export interface JetStreamCheckpointSaverOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Stream holding the state (default `VIBEWRITER_STATE`); it must exist. */
  stream?: string;
  /** Subject prefix the stream captures as `<prefix>.>` (default `vibewriter.state`). */
  subjectPrefix?: string;
  serde?: SerializerProtocol;
  /** Threads whose view stays in memory (least recently used are dropped first). */
  maxCachedThreads?: number;
  /** Give up on an unacknowledged write after this long (ms); below the 2-min dedup window. */
  writeDeadlineMs?: number;
}

interface DecodedCheckpoint {
  checkpoint: Omit<Checkpoint, "channel_values">;
  metadata: CheckpointMetadata;
}

/**
 * LangGraph checkpointer on JetStream. The agent's state is a set of messages under
 * `<prefix>.<thread>.<ns>.`: `c.<id>` checkpoints (without values), `b.<channel>.<version>`
 * channel values (written only for the channels in `newVersions`, as the Postgres saver does),
 * `w.<id>.<task>.<idx>` pending writes (regular ones first-write-wins via an expected subject
 * sequence of 0; special ones replace), and `x` after deleteThread. Resuming is reading that back.
 *
 * Reads: each process keeps a view of the threads it uses, fed by a live ordered consumer on the
 * stream. A read asks the server for the thread's last sequence (one direct get) and waits until
 * the view has caught up to it, so it sees every acknowledged write, from any process.
 *
 * Decoded channel values are cached by (channel, version) and shared between reads: treat the
 * values in returned checkpoints as immutable (LangGraph's reducers do).
 */
export class JetStreamCheckpointSaver extends BaseCheckpointSaver {
  readonly stream: string;
  readonly prefix: string;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #maxThreads: number;
  readonly #deadline: number;
  /** Thread id → view; Map order is the LRU order. */
  readonly #views = new Map<string, ThreadView>();
  /** Threads whose history is being loaded → the load. */
  readonly #loading = new Map<string, Promise<void>>();
  #tail: Promise<StreamTail> | undefined;
  #closed = false;

  constructor(opts: JetStreamCheckpointSaverOptions) {
    super(opts.serde);
    this.#js = opts.js;
    this.#jsm = opts.jsm;
    this.stream = opts.stream ?? Names.stateStream;
    this.prefix = opts.subjectPrefix ?? Names.stateSubjectPrefix;
    this.#maxThreads = opts.maxCachedThreads ?? 64;
    this.#deadline = opts.writeDeadlineMs ?? 90_000;
  }

  // ---- subjects -------------------------------------------------------------------------

  #threadSubject(threadId: string): string {
    return `${this.prefix}.${encodeToken(threadId)}`;
  }
  #nsSubject(threadId: string, ns: string): string {
    return `${this.#threadSubject(threadId)}.${encodeToken(ns)}`;
  }
  static #versionToken(v: string | number): string {
    return encodeToken((typeof v === "number" ? "n" : "s") + String(v));
  }

  // ---- the view ---------------------------------------------------------------------------

  #applyMessage(seq: number, data: Uint8Array, views: Map<string, ThreadView> | undefined): void {
    const { header, parts } = decodeFrame<StateHeader>(data);
    const target = views ?? this.#views;
    let view = target.get(header.t);
    if (!view) {
      if (!views) return; // a thread this process does not hold
      view = new ThreadView(header.t);
      target.set(header.t, view);
    }
    view.apply(seq, header, parts);
  }

  #startTail(): Promise<StreamTail> {
    if (!this.#tail) {
      this.#tail = StreamTail.start(this.#js, this.#jsm, this.stream, `${this.prefix}.>`, (seq, _s, data) =>
        this.#applyMessage(seq, data, undefined),
      ).catch((err: unknown) => {
        this.#tail = undefined;
        throw new NatsBackboneError(NatsErrorCode.Connect, `cannot follow stream ${this.stream}`, { cause: err });
      });
    }
    return this.#tail;
  }

  /** Every message of `filter` currently stored, read with a one-shot ordered consumer. */
  async #readAll(filter: string, lastSeq: number, onMessage: (seq: number, data: Uint8Array) => void): Promise<void> {
    const consumer = await this.#js.consumers.get(this.stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume({ max_messages: 1024 });
    try {
      for await (const m of messages) {
        onMessage(m.seq, m.data);
        if (m.seq >= lastSeq || m.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
  }

  /**
   * The thread's view, holding every message stored for it up to now (read-your-writes and
   * other processes' acknowledged writes). One direct get when the view is warm.
   */
  async #freshView(threadId: string): Promise<ThreadView> {
    if (this.#closed) throw new NatsBackboneError(NatsErrorCode.Closed, "checkpointer is closed");
    const tail = await this.#startTail();
    const last = await this.#jsm.direct.getMessage(this.stream, { last_by_subj: `${this.#threadSubject(threadId)}.>` });
    let view = this.#views.get(threadId);
    if (!last) {
      // Nothing stored for this thread: drop any stale view.
      view = new ThreadView(threadId);
      this.#remember(threadId, view);
      return view;
    }
    const lastSeq = last.seq;
    if (!view) {
      view = new ThreadView(threadId);
      this.#remember(threadId, view);
      // The tail covers what is stored after it started; the thread's history is read once.
      const load = this.#readAll(`${this.#threadSubject(threadId)}.>`, lastSeq, (seq, data) =>
        this.#applyMessage(seq, data, undefined),
      );
      this.#loading.set(threadId, load);
      try {
        await load;
      } catch (err) {
        this.#views.delete(threadId);
        throw err;
      } finally {
        this.#loading.delete(threadId);
      }
    } else {
      this.#remember(threadId, view);
      const loading = this.#loading.get(threadId);
      if (loading) await loading;
    }
    const header = decodeFrame<StateHeader>(last.data);
    view.apply(lastSeq, header.header, header.parts);
    if (lastSeq > tail.watermark && !(await tail.waitFor(lastSeq, 10_000))) {
      // The live tail is stuck (e.g. still recreating after a restart): read the thread again.
      this.#views.delete(threadId);
      return this.#freshView(threadId);
    }
    return view;
  }

  #remember(threadId: string, view: ThreadView): void {
    this.#views.delete(threadId);
    this.#views.set(threadId, view);
    while (this.#views.size > this.#maxThreads) {
      const oldest = this.#views.keys().next().value as string;
      this.#views.delete(oldest);
    }
  }

  // ---- decoding ---------------------------------------------------------------------------

  async #decodeCheckpoint(e: CheckpointEntry): Promise<DecodedCheckpoint> {
    if (!e.isDecoded) {
      const [cp, md] = await Promise.all([
        this.serde.loadsTyped(e.header.ty, e.parts[0]),
        this.serde.loadsTyped(e.header.mty, e.parts[1]),
      ]);
      e.decoded = { checkpoint: cp, metadata: md } satisfies DecodedCheckpoint;
      e.isDecoded = true;
    }
    return e.decoded as DecodedCheckpoint;
  }

  async #decodeValue(e: BlobEntry | WriteEntry): Promise<unknown> {
    if (!e.isDecoded) {
      e.decoded = await this.serde.loadsTyped(e.header.ty, e.parts[0]);
      e.isDecoded = true;
    }
    return e.decoded;
  }

  async #tuple(threadId: string, ns: string, nsView: NamespaceView, e: CheckpointEntry): Promise<CheckpointTuple> {
    const { checkpoint: base, metadata } = await this.#decodeCheckpoint(e);
    const channel_values: Record<string, unknown> = {};
    const pending: Promise<void>[] = [];
    for (const [ch, ver] of Object.entries(base.channel_versions)) {
      const blob = nsView.blobs.get(blobKey(ch, ver));
      if (!blob || blob.header.ty === "empty") continue;
      if (blob.isDecoded) channel_values[ch] = blob.decoded;
      else pending.push(this.#decodeValue(blob).then((v) => void (channel_values[ch] = v)));
    }
    const writes = nsView.orderedWrites(e.header.id);
    const pendingWrites = await Promise.all(
      writes.map(async (w) => [w.header.task, w.header.ch, await this.#decodeValue(w)] as [string, string, unknown]),
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
    const parentId = e.header.p;
    if (checkpoint.v < 4 && parentId !== undefined) await this.#migratePendingSends(checkpoint, nsView, parentId);
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: e.header.id } },
      checkpoint,
      metadata: { ...metadata },
      pendingWrites,
    };
    if (parentId !== undefined) {
      tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: parentId } };
    }
    return tuple;
  }

  /** Checkpoints before v4 kept pending sends as writes to TASKS on the parent. */
  async #migratePendingSends(checkpoint: Checkpoint, nsView: NamespaceView, parentId: string): Promise<void> {
    const sends = nsView.orderedWrites(parentId).filter((w) => w.header.ch === TASKS);
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
    const view = await this.#freshView(threadId);
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
    let views: Iterable<ThreadView>;
    if (threadId !== undefined) {
      views = [await this.#freshView(threadId)];
    } else {
      views = (await this.#scanAll()).values();
    }
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
    candidates.sort((a, b) => (a.entry.header.id < b.entry.header.id ? 1 : a.entry.header.id > b.entry.header.id ? -1 : 0));
    let remaining = limit ?? Infinity;
    for (const c of candidates) {
      if (remaining <= 0) break;
      if (filterEntries.length > 0) {
        const { metadata } = await this.#decodeCheckpoint(c.entry);
        const md = metadata as Record<string, unknown>;
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
    await this.#readAll(`${this.prefix}.>`, info.state.last_seq, (seq, data) => this.#applyMessage(seq, data, views));
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
    const nsSubject = this.#nsSubject(threadId, ns);

    const messages: { subject: string; data: Uint8Array; header: StateHeader; parts: Uint8Array[] }[] = [];
    const values = checkpoint.channel_values ?? {};
    await Promise.all(
      Object.entries(newVersions).map(async ([ch, ver]) => {
        let ty = "empty";
        let bytes: Uint8Array = new Uint8Array(0);
        if (Object.prototype.hasOwnProperty.call(values, ch)) [ty, bytes] = await this.serde.dumpsTyped(values[ch]);
        const header: BlobHeader = { k: "b", t: threadId, n: ns, ch, v: ver, ty };
        const parts = [bytes];
        messages.push({
          subject: `${nsSubject}.b.${encodeToken(ch)}.${JetStreamCheckpointSaver.#versionToken(ver)}`,
          data: encodeFrame(header, parts),
          header,
          parts,
        });
      }),
    );
    const { channel_values: _omit, ...rest } = checkpoint;
    const [[ty, cpBytes], [mty, mdBytes]] = await Promise.all([
      this.serde.dumpsTyped(rest),
      this.serde.dumpsTyped(metadata),
    ]);
    const header: CheckpointHeader = { k: "c", t: threadId, n: ns, id, ty, mty };
    if (parentId) header.p = parentId;
    const parts = [cpBytes, mdBytes];
    // Last, so a reader that sees the checkpoint also sees its values (one connection keeps order).
    messages.push({ subject: `${nsSubject}.c.${encodeToken(id)}`, data: encodeFrame(header, parts), header, parts });

    await this.#publishAll(threadId, messages, () => false);
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
    const base = `${this.#nsSubject(threadId, ns)}.w.${encodeToken(checkpointId)}.${encodeToken(taskId)}`;
    const existing = this.#views.get(threadId)?.namespaces.get(ns)?.writes.get(checkpointId);
    const messages = await Promise.all(
      writes.map(async ([channel, value], i) => {
        const idx = (WRITES_IDX_MAP as Record<string, number>)[channel] ?? i;
        const [ty, bytes] = await this.serde.dumpsTyped(value);
        const header: WriteHeader = { k: "w", t: threadId, n: ns, id: checkpointId, task: taskId, idx, ch: channel, ty, path: taskPath ?? "" };
        const parts = [bytes];
        return { subject: `${base}.${encodeToken(String(idx))}`, data: encodeFrame(header, parts), header, parts };
      }),
    );
    // Regular writes: first write wins (also across processes, via the expected subject sequence).
    const fresh = messages.filter((m) => {
      const h = m.header as WriteHeader;
      return h.idx < 0 || !existing?.has(`${h.task}\u0000${h.idx}`);
    });
    await this.#publishAll(threadId, fresh, (h) => (h as WriteHeader).idx >= 0);
  }

  /** Publish all at once, await every ack (retrying unacked ones with the same msgID). */
  async #publishAll(
    threadId: string,
    messages: { subject: string; data: Uint8Array; header: StateHeader; parts: Uint8Array[] }[],
    ifAbsent: (h: StateHeader) => boolean,
  ): Promise<void> {
    if (this.#closed) throw new NatsBackboneError(NatsErrorCode.Closed, "checkpointer is closed");
    const results = await Promise.all(
      messages.map((m) =>
        publishAcked(this.#js, m.subject, m.data, { ifAbsent: ifAbsent(m.header), deadlineMs: this.#deadline }),
      ),
    );
    const view = this.#views.get(threadId);
    if (!view) return;
    results.forEach((r, i) => {
      if (r.stored) view.apply(r.ack.seq, messages[i].header, messages[i].parts);
    });
  }

  async deleteThread(threadId: string): Promise<void> {
    const id = optionalId(threadId, "thread_id");
    if (id === undefined) throw invalid("deleteThread: thread id is missing");
    const subject = this.#threadSubject(id);
    await this.#jsm.streams.purge(this.stream, { filter: `${subject}.>` });
    const header = { k: "x", t: id } as const;
    const r = await publishAcked(this.#js, `${subject}.x`, encodeFrame(header, []), { deadlineMs: this.#deadline });
    if (r.stored) this.#views.get(id)?.apply(r.ack.seq, header, []);
  }

  /** Stop the live tail (the connection stays open; it belongs to the caller). */
  async close(): Promise<void> {
    this.#closed = true;
    const tail = await this.#tail?.catch(() => undefined);
    await tail?.stop();
    this.#views.clear();
  }
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
