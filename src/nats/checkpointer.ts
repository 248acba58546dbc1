import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertThreadId } from "../config/index.ts";
import { WriteBarrier } from "./checkpoint-barrier.ts";
import { CheckpointDecoder } from "./checkpoint-decode.ts";
import { CheckpointEncoder } from "./checkpoint-encode.ts";
import { ThreadViewLoader } from "./checkpoint-loader.ts";
import { StateSubjects } from "./checkpoint-subjects.ts";
import { ThreadView, type CheckpointEntry, type NamespaceView, type OwnValues, type WriteHeader } from "./checkpoint-view.ts";
import { ThreadViewCache } from "./checkpoint-view-cache.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { encodeFrame } from "./frame.ts";
import { MessageMemoSerializer } from "./message-serde.ts";
import { AckedPublisher } from "./publish.ts";
import { HEADER_ROOM, type Outgoing } from "./state-messages.ts";
import { Names } from "./streams.ts";

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
 * announced message it has not applied. So a read sees every acknowledged write. A run holds its
 * thread's lease and says so (`holdThread`): then a warm read of that thread needs no round trip.
 *
 * Channel values are cached decoded by (channel, version) — including the objects this process
 * wrote — and shared between reads: treat the values in returned checkpoints as immutable
 * (LangGraph's built-in channels and reducers do). A list that grows by a few items per step (the
 * conversation) is stored as a delta of the snapshot's version (see state-messages.ts), and message
 * encodings are remembered (MessageMemoSerializer), so a put costs about one small acknowledged
 * publish. `compactThread` keeps only the latest checkpoint of each namespace (as a snapshot).
 *
 * This class is LangGraph's API over the parts: the write barrier (checkpoint-barrier.ts), the
 * views and their live tail (checkpoint-view-cache.ts, checkpoint-view.ts), the loader that brings
 * a view up to date (checkpoint-loader.ts), and the codec (checkpoint-encode.ts,
 * checkpoint-decode.ts, state-messages.ts).
 */
export class JetStreamCheckpointSaver extends BaseCheckpointSaver {
  readonly stream: string;
  readonly prefix: string;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #publisher: AckedPublisher;
  readonly #deadline: number;
  readonly #awaitEachWrite: boolean;
  readonly #subjects: StateSubjects;
  readonly #barrier = new WriteBarrier();
  readonly #views: ThreadViewCache;
  readonly #loader: ThreadViewLoader;
  readonly #decoder: CheckpointDecoder;
  readonly #encoder: CheckpointEncoder;
  /** Threads held, with how many holds each (see holdThread). */
  readonly #held = new Counts();
  /** Threads with writes in flight that their view does not hold yet (a held read asks the server then). */
  readonly #unapplied = new Counts();
  #closed = false;

  constructor(opts: JetStreamCheckpointSaverOptions) {
    super(opts.serde ?? new MessageMemoSerializer());
    this.#nc = opts.nc;
    this.#jsm = opts.jsm;
    this.#publisher = new AckedPublisher(opts.nc);
    this.stream = opts.stream ?? Names.stateStream;
    this.prefix = opts.subjectPrefix ?? Names.stateSubjectPrefix;
    this.#deadline = opts.writeDeadlineMs ?? 90_000;
    this.#awaitEachWrite = opts.writeAcks === "each-call";
    this.#subjects = new StateSubjects(this.prefix);
    this.#views = new ThreadViewCache({
      js: opts.js,
      jsm: opts.jsm,
      stream: this.stream,
      prefix: this.prefix,
      maxThreads: opts.maxCachedThreads ?? 64,
    });
    this.#decoder = new CheckpointDecoder(this.serde, () => this.getNextVersion(undefined));
    this.#encoder = new CheckpointEncoder({
      serde: this.serde,
      decoder: this.#decoder,
      restoreDistance: opts.restoreDistance ?? 2048,
      maxFrame: () => this.#maxFrame(),
    });
    this.#loader = new ThreadViewLoader({
      js: opts.js,
      jsm: opts.jsm,
      stream: this.stream,
      subjects: this.#subjects,
      views: this.#views,
      barrier: this.#barrier,
      decoder: this.#decoder,
      assertOpen: () => this.#assertOpen(),
      held: (threadId) => this.#held.has(threadId) && !this.#unapplied.has(threadId),
    });
  }

  /**
   * Says this process is the thread's only writer — it holds the thread's lease — until the
   * returned function is called (call it when the lease is released or lost). Meanwhile a read of
   * the thread whose view is already loaded answers from memory, without asking the server for the
   * thread's last message: its own pending writes are in the view before their acknowledgement
   * (the next put waits for them, and fails if one was lost; the view is then read again).
   * Anything the live tail announces from another writer is still fetched first. Holds nest;
   * release is idempotent.
   */
  holdThread(threadId: string): () => void {
    const id = threadIdOf(threadId);
    if (id === undefined) throw invalid("holdThread: thread id is missing");
    this.#held.add(id);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.remove(id);
    };
  }

  /** put, putWrites, reads and deleteThread refuse once close() was called. */
  #assertOpen(): void {
    if (this.#closed) throw new NatsBackboneError(NatsErrorCode.Closed, "checkpointer is closed");
  }

  #maxFrame(): number {
    return Math.max(64 * 1024, (this.#nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM);
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = threadIdOf(config.configurable?.thread_id);
    if (threadId === undefined) return undefined;
    const ns = optionalId(config.configurable?.checkpoint_ns, "checkpoint_ns") ?? "";
    const checkpointId = optionalId(config.configurable?.checkpoint_id, "checkpoint_id");
    let view = await this.#loader.fresh(threadId, checkpointId ? undefined : ns);
    if (!view.loaded && !(await this.#loader.latestComplete(view, ns))) {
      // A resumed view that no longer covers the latest checkpoint (e.g. a fork off an old one).
      view.latestLoaded.clear();
      view = await this.#loader.fresh(threadId);
    }
    const nsView = view.namespaces.get(ns);
    if (!nsView) return undefined;
    const id = checkpointId || nsView.latestId();
    if (id === undefined) return undefined;
    const entry = nsView.checkpoints.get(id);
    if (!entry) return undefined;
    return this.#decoder.tuple(threadId, ns, nsView, entry);
  }

  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const { limit, before, filter } = options ?? {};
    const threadId = threadIdOf(config.configurable?.thread_id);
    const nsFilter = optionalId(config.configurable?.checkpoint_ns, "checkpoint_ns");
    const idFilter = optionalId(config.configurable?.checkpoint_id, "checkpoint_id");
    const beforeId = optionalId(before?.configurable?.checkpoint_id, "before.checkpoint_id");
    if (threadId === undefined) await this.#barrier.acked();
    const views = threadId !== undefined ? [await this.#loader.fresh(threadId)] : [...(await this.#loader.scanAll()).values()];
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
        const md = (await this.#decoder.checkpoint(c.entry)).metadata as Record<string, unknown>;
        if (!filterEntries.every(([k, v]) => jsonEqual(md[k], v))) continue;
      }
      remaining -= 1;
      yield await this.#decoder.tuple(c.view.threadId, c.ns, c.nsView, c.entry);
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (!config.configurable) throw invalid("put: config.configurable is missing");
    const threadId = threadIdOf(config.configurable.thread_id);
    if (threadId === undefined) throw invalid('put: config.configurable is missing "thread_id"');
    const ns = optionalId(config.configurable.checkpoint_ns, "checkpoint_ns") ?? "";
    const parentId = optionalId(config.configurable.checkpoint_id, "checkpoint_id");
    const id = optionalId(checkpoint.id, "checkpoint.id");
    if (!id) throw invalid("put: checkpoint.id is missing");
    this.#assertOpen();
    if (parentId && !this.#views.get(threadId)?.namespaces.get(ns)?.checkpoints.has(parentId)) {
      // A parent this process has not seen (a put before any read): read the latest checkpoint,
      // so this one can say where its unchanged values live and store deltas.
      await this.#loader.fresh(threadId, ns);
    }
    const nsView = this.#views.get(threadId)?.namespaces.get(ns);
    const nsSubject = this.#subjects.namespace(threadId, ns);
    const { messages, own } = await this.#encoder.checkpoint({ nsSubject, threadId, ns, id, parentId, checkpoint, metadata, newVersions, nsView });
    // The writes of the step before come first (their acks arrived while this was encoded).
    await this.#barrier.acked(threadId);
    await this.#publishAll(threadId, messages, own);
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    if (!config.configurable) throw invalid("putWrites: config.configurable is missing");
    const threadId = threadIdOf(config.configurable.thread_id);
    if (threadId === undefined) throw invalid('putWrites: config.configurable is missing "thread_id"');
    const ns = optionalId(config.configurable.checkpoint_ns, "checkpoint_ns") ?? "";
    const checkpointId = optionalId(config.configurable.checkpoint_id, "checkpoint_id");
    if (!checkpointId) throw invalid('putWrites: config.configurable is missing "checkpoint_id"');
    if (typeof taskId !== "string") throw invalid("putWrites: taskId must be a string");
    this.#assertOpen();
    const { messages, own } = await this.#encoder.writes({
      nsSubject: this.#subjects.namespace(threadId, ns),
      threadId,
      ns,
      checkpointId,
      taskId,
      path: taskPath ?? "",
      writes,
      known: this.#views.get(threadId)?.namespaces.get(ns),
    });
    if (this.#awaitEachWrite) {
      await this.#publishAll(threadId, messages, own);
      return;
    }
    // A held thread's view takes the writes now (nobody else can race them), so its next read
    // need not wait for their acknowledgement; the next put still does. A lost one drops the view.
    const view = this.#held.has(threadId) ? this.#views.get(threadId) : undefined;
    const early = view !== undefined && messages.every((m) => m.header.k === "w");
    if (early) for (const m of messages) view.ns(ns).applyPendingWrites(m.header as WriteHeader, m.parts, own);
    else this.#unapplied.add(threadId);
    // Encoded now (bad values fail here); published when this turn of the event loop ends and
    // acknowledged by the thread's next barrier (see WriteBarrier).
    this.#barrier.defer(threadId, async () => {
      try {
        const stored = await this.#publishAll(threadId, messages, own);
        if (early && !stored) this.#views.forget(threadId);
      } catch (err) {
        if (early) this.#views.forget(threadId);
        throw err;
      } finally {
        if (!early) this.#unapplied.remove(threadId);
      }
    });
  }

  /**
   * Publish all at once, await every ack (unacked ones are retried with the same msgID). False
   * when one was not stored (a regular write that lost to an earlier one, or a duplicate).
   */
  async #publishAll(threadId: string, messages: Outgoing[], own: OwnValues): Promise<boolean> {
    if (messages.length === 0) return true;
    // A view from this write on (history is read on the first read), so the values written here
    // are kept decoded and the next put of this thread can store a delta.
    let view = this.#views.get(threadId);
    if (!view) this.#views.remember(threadId, (view = new ThreadView(threadId)));
    const results = await Promise.all(
      messages.map((m) => this.#publisher.publish(m.subject, m.data, { ifAbsent: m.ifAbsent, deadlineMs: this.#deadline })),
    );
    results.forEach((r, i) => {
      if (r.stored) view.apply(r.ack.seq, messages[i].header, messages[i].parts, this.#views.watermark, own);
    });
    return results.every((r) => r.stored);
  }

  async deleteThread(threadId: string): Promise<void> {
    const id = threadIdOf(threadId);
    if (id === undefined) throw invalid("deleteThread: thread id is missing");
    this.#assertOpen();
    const subject = this.#subjects.thread(id);
    // A write still in flight must not land after the purge; a lost one no longer matters.
    await this.#barrier.acked(id).catch(() => {});
    await this.#jsm.streams.purge(this.stream, { filter: `${subject}.>` });
    const header = { k: "x", t: id } as const;
    const r = await this.#publisher.publish(`${subject}.x`, encodeFrame(header, []), { deadlineMs: this.#deadline });
    if (r.stored) this.#views.get(id)?.apply(r.ack.seq, header, [], this.#views.watermark);
  }

  /**
   * Keep only the latest checkpoint of every namespace of the thread, with its pending writes;
   * drop every older checkpoint, value and write. The kept checkpoints are stored again, each
   * whole in one message (every channel value in it, no delta), then everything of the thread
   * stored before them is purged. `removed` counts the checkpoints dropped. Meant for threads no
   * process is writing any more (a write landing between the read and the purge would be lost).
   */
  async compactThread(threadId: string): Promise<{ removed: number }> {
    const id = threadIdOf(threadId);
    if (id === undefined) throw invalid("compactThread: thread id is missing");
    this.#assertOpen();
    const view = await this.#loader.fresh(id);
    let total = 0;
    const kept: Outgoing[] = [];
    for (const [ns, nsView] of view.namespaces) {
      total += nsView.checkpoints.size;
      const latest = nsView.latestId();
      if (latest === undefined) continue;
      const tuple = await this.#decoder.tuple(id, ns, nsView, nsView.checkpoints.get(latest)!);
      kept.push(...(await this.#encoder.whole(this.#subjects.namespace(id, ns), id, ns, tuple, nsView.orderedWrites(latest))));
    }
    const removed = total - kept.filter((m) => m.header.k === "c").length;
    if (removed === 0) return { removed: 0 };
    const results = await Promise.all(kept.map((m) => this.#publisher.publish(m.subject, m.data, { deadlineMs: this.#deadline })));
    const first = Math.min(...results.map((r) => (r.stored ? r.ack.seq : Number.POSITIVE_INFINITY)));
    // Everything of the thread stored before the first message written again.
    await this.#jsm.streams.purge(this.stream, { filter: `${this.#subjects.thread(id)}.>`, seq: first });
    this.#views.forget(id); // read again, as any other process would
    return { removed };
  }

  /** Stop the live tail (the connection stays open; it belongs to the caller). */
  async close(): Promise<void> {
    this.#closed = true;
    // Pending writes are waited for, not abandoned (a failure has no run left to fail here).
    await this.#barrier.acked().catch(() => {});
    await this.#views.close();
  }
}

/** Keys with a count; a key is there while its count is above zero. */
class Counts {
  readonly #counts = new Map<string, number>();

  add(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  remove(key: string): void {
    const n = (this.#counts.get(key) ?? 1) - 1;
    if (n > 0) this.#counts.set(key, n);
    else this.#counts.delete(key);
  }

  has(key: string): boolean {
    return this.#counts.has(key);
  }
}

function invalid(message: string): NatsBackboneError {
  return new NatsBackboneError(NatsErrorCode.InvalidArgument, message);
}

/**
 * A thread id from user config, held to the one thread id rule (config/thread-id.ts): it becomes
 * a subject token here and a key or folder name elsewhere. Numbers are taken as their digits.
 */
function threadIdOf(value: unknown): string | undefined {
  const id = optionalId(value, "thread_id");
  if (id !== undefined) assertThreadId(id, invalid);
  return id;
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
