import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import type { WriteBarrier } from "./checkpoint-barrier.ts";
import type { CheckpointDecoder } from "./checkpoint-decode.ts";
import type { StateSubjects } from "./checkpoint-subjects.ts";
import { ThreadView, blobKey, MAX_DELTA_HOPS, type StateHeader } from "./checkpoint-view.ts";
import type { ThreadViewCache } from "./checkpoint-view-cache.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { decodeFrame } from "./frame.ts";
import { readStream } from "./read-stream.ts";
import { encodeToken } from "./subject-token.ts";

/** A tail that has not announced a stored message after this is replaced. */
const TAIL_STUCK_MS = 10_000;
/** Replaced tails in a row before a read gives up as a NATS outage (the caller may try again). */
const TAIL_STUCK_ROUNDS = 6;

export interface ThreadViewLoaderOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  subjects: StateSubjects;
  views: ThreadViewCache;
  /** A thread's pending writes go out with its reads, and are acknowledged before a read returns. */
  barrier: WriteBarrier;
  decoder: CheckpointDecoder;
  /** Throws once the checkpointer is closed. */
  assertOpen: () => void;
  /** Threads this process is the only writer of (it holds their lease), its writes all in their views: see `fresh`. */
  held: (threadId: string) => boolean;
}

/**
 * Brings a thread's view up to date before a read. A warm view asks for the thread's last
 * sequence and waits for the live tail to pass it; a cold one (a resume) reads only what the
 * namespace's latest checkpoint needs, in two or three round trips, or else the whole thread.
 */
export class ThreadViewLoader {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #subjects: StateSubjects;
  readonly #views: ThreadViewCache;
  readonly #barrier: WriteBarrier;
  readonly #decoder: CheckpointDecoder;
  readonly #assertOpen: () => void;
  readonly #held: (threadId: string) => boolean;
  /** Threads whose history is being loaded → the load. */
  readonly #loading = new Map<string, Promise<void>>();

  constructor(opts: ThreadViewLoaderOptions) {
    this.#js = opts.js;
    this.#jsm = opts.jsm;
    this.#stream = opts.stream;
    this.#subjects = opts.subjects;
    this.#views = opts.views;
    this.#barrier = opts.barrier;
    this.#decoder = opts.decoder;
    this.#assertOpen = opts.assertOpen;
    this.#held = opts.held;
  }

  /** Every message of `filter` currently stored. */
  #readAll(filter: string, onMessage: (seq: number, data: Uint8Array) => void): Promise<void> {
    return readStream(this.#js, this.#stream, filter, (m) => onMessage(m.seq, m.data));
  }

  /**
   * The thread's view, holding every message stored for it up to now (read-your-writes and
   * other processes' acknowledged writes). One direct get when the view is warm. With `latestOf`,
   * a cold view only needs that namespace's latest checkpoint, its values and writes (a resume),
   * read with a few direct gets in two or three round trips instead of the whole history.
   */
  async fresh(threadId: string, latestOf?: string, stuckRounds = 0): Promise<ThreadView> {
    this.#assertOpen();
    // A tail started before this read announces everything stored after it. Without one, this
    // read starts it right after the thread's last message (a cold read does not wait for it).
    const tail = this.#views.following ? await this.#views.startTail() : undefined;
    let view = this.#views.get(threadId);
    if (!view) {
      // Registered before anything is read, so the tail announces whatever lands meanwhile.
      view = new ThreadView(threadId);
    }
    this.#views.remember(threadId, view);
    const enough = () => view.loaded || (latestOf !== undefined && view.latestLoaded.has(latestOf));
    if (tail && enough() && !this.#loading.has(threadId) && this.#held(threadId) && view.missing.size === 0) {
      // Nobody else writes this thread and the view holds this process's writes, acknowledged
      // or not (their acks are the next put's to wait for): it is the whole thread, with no
      // round trip. Whatever the tail announces from elsewhere (a lease broken) is fetched first.
      return view;
    }
    const cold = !enough() && !this.#loading.has(threadId);
    for (let loading = this.#loading.get(threadId); loading; loading = this.#loading.get(threadId)) await loading;
    const subject = `${this.#subjects.thread(threadId)}.>`;
    // A resume reads the namespace's latest checkpoint, its latest snapshot and its latest write
    // along with the thread's last message: usually everything the read needs, in one round trip.
    const nsSubject = !enough() && latestOf !== undefined ? this.#subjects.namespace(threadId, latestOf) : undefined;
    const get = (subj: string) => this.#jsm.direct.getMessage(this.#stream, { last_by_subj: subj });
    // Own pending writes go out with the reads (one socket write); the view gets them from their
    // acknowledgements (read your own writes), whatever order the server handles the two in.
    this.#barrier.sendQueued(threadId);
    const reads = Promise.all([
      get(subject),
      ...(nsSubject ? [get(`${nsSubject}.c.*`), get(`${nsSubject}.s.*`), get(`${nsSubject}.w.>`)] : []),
    ]);
    const acked = this.#barrier.acked(threadId);
    reads.catch(() => {}); // reported below, after a failed write
    await acked;
    const [last, ...latest] = await reads;
    if (!tail && (!last || this.#views.following)) {
      // Nothing to start the tail after (or another read started it meanwhile, maybe after what
      // this one read): start it the ordinary way, then read again.
      await this.#views.startTail();
      return this.fresh(threadId, latestOf);
    }
    if (!tail) void this.#views.startTail(last!.seq + 1).catch(() => {});
    if (!last) {
      view.loaded = true;
      if (!cold && view.namespaces.size > 0) {
        // Purged without a marker (e.g. by hand): start over.
        this.#views.forget(threadId);
        return this.fresh(threadId, latestOf);
      }
      return view;
    }
    if (!enough()) {
      const load = (async () => {
        if (latestOf !== undefined && (latest[0] || latest[1]) && (await this.#loadLatest(view, threadId, latestOf, latest))) {
          view.latestLoaded.add(latestOf);
          return;
        }
        await this.#readAll(subject, (seq, data) => this.#views.apply(view, seq, data));
        view.loaded = true;
      })();
      this.#loading.set(threadId, load);
      try {
        await load;
      } catch (err) {
        this.#views.forget(threadId);
        throw err;
      } finally {
        this.#loading.delete(threadId);
      }
    }
    this.#views.apply(view, last.seq, last.data);
    if (tail && last.seq > tail.watermark && !(await tail.waitFor(last.seq, TAIL_STUCK_MS))) {
      // The live tail is stuck: recreating itself after a restart, or for ever when its consumer's
      // server died on a cluster (nats.js on nats-server 2.9 kept asking the dead consumer). A new
      // tail after the last message announced keeps the views whole; then read the thread again.
      if (stuckRounds + 1 >= TAIL_STUCK_ROUNDS) {
        throw new NatsBackboneError(NatsErrorCode.Connect, `stream ${this.#stream} delivered nothing new for ${(TAIL_STUCK_ROUNDS * TAIL_STUCK_MS) / 1000} s`, { cause: new errors.TimeoutError() });
      }
      await this.#views.replaceTail(tail);
      this.#views.forget(threadId);
      return this.fresh(threadId, latestOf, stuckRounds + 1);
    }
    if (view.missing.size > 0) {
      const seqs = [...view.missing];
      const msgs = await Promise.all(seqs.map((seq) => this.#jsm.direct.getMessage(this.#stream, { seq })));
      msgs.forEach((m, i) => {
        if (m) this.#views.apply(view, m.seq, m.data);
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
    const nsSubject = this.#subjects.namespace(threadId, ns);
    const fetched = new Map<string, Promise<void>>();
    const fetch = (subject: string): Promise<void> => {
      let p = fetched.get(subject);
      if (!p) {
        p = this.#jsm.direct.getMessage(this.#stream, { last_by_subj: subject }).then((m) => {
          if (m) this.#views.apply(view, m.seq, m.data);
        });
        fetched.set(subject, p);
      }
      return p;
    };
    // A checkpoint's message is `c.<id>`, or `s.<id>` for a snapshot.
    const fetchCheckpoint = (id: string) => fetch(`${nsSubject}.*.${encodeToken(id)}`);
    const [checkpointMsg, snapshotMsg, lastWrite] = latest;
    for (const m of [snapshotMsg, checkpointMsg]) if (m) this.#views.apply(view, m.seq, m.data);
    const nsView = view.namespaces.get(ns);
    const id = nsView?.latestId();
    if (!nsView || id === undefined) return false;
    const entry = nsView.checkpoints.get(id)!;
    const prefetch = Promise.all((entry.needs ?? []).filter((at) => !nsView.checkpoints.has(at)).map(fetchCheckpoint));
    // Writes of a checkpoint are stored after it: none when the newest write is older; just that
    // one when it is the very next message; else they are looked up.
    let writes: Promise<void> = Promise.resolve();
    if (lastWrite && lastWrite.seq > entry.seq) {
      if (lastWrite.seq === entry.seq + 1) this.#views.apply(view, lastWrite.seq, lastWrite.data);
      if (lastWrite.seq !== entry.seq + 1 || !nsView.writes.has(id)) writes = this.#readWrites(view, nsSubject, id, entry.seq);
    }
    const { checkpoint } = await this.#decoder.checkpoint(entry);
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
      return depth < MAX_DELTA_HOPS && place(ch, delta.bv, delta.at, depth + 1);
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
      this.#jsm.direct.getMessage(this.#stream, { seq: from, next_by_subj: filter }),
      this.#jsm.direct.getMessage(this.#stream, { last_by_subj: filter }),
    ]);
    if (!first || !last) return;
    this.#views.apply(view, first.seq, first.data);
    this.#views.apply(view, last.seq, last.data);
    for (let seq = first.seq; seq < last.seq; ) {
      const m = await this.#jsm.direct.getMessage(this.#stream, { seq: seq + 1, next_by_subj: filter });
      if (!m || m.seq >= last.seq) break;
      this.#views.apply(view, m.seq, m.data);
      seq = m.seq;
    }
  }

  /** Every value of the namespace's latest checkpoint (and its delta bases) is in the view. */
  async latestComplete(view: ThreadView, ns: string): Promise<boolean> {
    const nsView = view.namespaces.get(ns);
    const id = nsView?.latestId();
    if (!nsView || id === undefined) return true;
    const entry = nsView.checkpoints.get(id)!;
    const { checkpoint } = await this.#decoder.checkpoint(entry);
    for (const [ch, v] of Object.entries(checkpoint.channel_versions)) {
      if (entry.loc?.[ch] === "" && !nsView.blobs.has(blobKey(ch, v))) continue; // never stored
      for (let key: string | undefined = blobKey(ch, v), depth = 0; key !== undefined; depth++) {
        const blob = nsView.blobs.get(key);
        if (!blob || depth > MAX_DELTA_HOPS) return false;
        key = blob.delta ? blobKey(ch, blob.delta.bv) : undefined;
      }
    }
    return true;
  }

  /** Views of every thread in the stream (for list() without a thread id); not cached. */
  async scanAll(): Promise<Map<string, ThreadView>> {
    const views = new Map<string, ThreadView>();
    const info = await this.#jsm.streams.info(this.#stream);
    if (info.state.messages === 0) return views;
    await this.#readAll(this.#subjects.all(), (seq, data) => {
      const { header } = decodeFrame<StateHeader>(data);
      let view = views.get(header.t);
      if (!view) views.set(header.t, (view = new ThreadView(header.t)));
      this.#views.apply(view, seq, data);
    });
    return views;
  }
}
