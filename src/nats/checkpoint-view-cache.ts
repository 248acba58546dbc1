import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { ThreadView, type OwnValues, type StateHeader } from "./checkpoint-view.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { decodeFrame } from "./frame.ts";
import { StreamTail } from "./state-tail.ts";
import { encodeToken } from "./subject-token.ts";

export interface ThreadViewCacheOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  /** The state's subject prefix (the tail follows `<prefix>.>`). */
  prefix: string;
  /** Threads whose view stays in memory (least recently used are dropped first). */
  maxThreads: number;
}

/**
 * The views of the threads this process uses (least recently used dropped first), kept current
 * by one live headers-only tail of the state stream: it announces every stored message, from any
 * process, to the view of its thread, and its watermark tells a view how far it has read.
 */
export class ThreadViewCache {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #maxThreads: number;
  /** Thread id → view; Map order is the LRU order. */
  readonly #views = new Map<string, ThreadView>();
  /** Subject token of a thread → its view (the tail only knows subjects). */
  readonly #byToken = new Map<string, ThreadView>();
  #tail: Promise<StreamTail> | undefined;
  /** How far the live tail has read; infinite while there is no tail (nothing will be announced). */
  #tailWatermark = Number.POSITIVE_INFINITY;

  constructor(opts: ThreadViewCacheOptions) {
    this.#js = opts.js;
    this.#jsm = opts.jsm;
    this.#stream = opts.stream;
    this.#prefix = opts.prefix;
    this.#maxThreads = opts.maxThreads;
  }

  get(threadId: string): ThreadView | undefined {
    return this.#views.get(threadId);
  }

  /** How far the live tail has read (see `ThreadView.apply`). */
  get watermark(): number {
    return this.#tailWatermark;
  }

  /** The live tail has been started (it may still be starting). */
  get following(): boolean {
    return this.#tail !== undefined;
  }

  /**
   * The live tail, started on first use: from `from` when given (a cold read that has just read
   * a thread up to `from - 1`; it does not wait for the consumer), else from the stream's end.
   */
  startTail(from?: number): Promise<StreamTail> {
    if (!this.#tail) {
      const tokenAt = this.#prefix.split(".").length;
      if (from !== undefined) this.#tailWatermark = from - 1;
      this.#tail = StreamTail.start(
        this.#js,
        this.#jsm,
        this.#stream,
        `${this.#prefix}.>`,
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
          this.clear();
          throw new NatsBackboneError(NatsErrorCode.Connect, `cannot follow stream ${this.#stream}`, { cause: err });
        },
      );
    }
    return this.#tail;
  }

  /** A new tail from the first sequence `stuck` has not announced (once, however many readers saw it stuck). */
  async replaceTail(stuck: StreamTail): Promise<void> {
    const current = await this.#tail?.catch(() => undefined);
    if (current === stuck) {
      this.#tail = undefined;
      void stuck.stop();
      await this.startTail(stuck.watermark + 1).catch(() => {});
    }
  }

  /** Applies a stored message (its frame as read from the stream) to `view`. */
  apply(view: ThreadView, seq: number, data: Uint8Array, own?: OwnValues): void {
    const { header, parts } = decodeFrame<StateHeader>(data);
    if (header.t !== view.threadId) return; // a hashed-token collision would land here; never mix threads
    view.apply(seq, header, parts, this.#tailWatermark, own);
  }

  /** Keeps `view` as the most recently used (dropping the least recently used past the limit). */
  remember(threadId: string, view: ThreadView): void {
    this.#views.delete(threadId);
    this.#views.set(threadId, view);
    this.#byToken.set(encodeToken(threadId), view);
    while (this.#views.size > this.#maxThreads) {
      const oldest = this.#views.keys().next().value as string;
      this.forget(oldest);
    }
  }

  forget(threadId: string): void {
    this.#views.delete(threadId);
    this.#byToken.delete(encodeToken(threadId));
  }

  clear(): void {
    this.#views.clear();
    this.#byToken.clear();
  }

  /** Stop the live tail and drop every view. */
  async close(): Promise<void> {
    const tail = await this.#tail?.catch(() => undefined);
    await tail?.stop();
    this.clear();
  }
}
