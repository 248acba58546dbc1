import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";

/**
 * A live, ordered read of a stream from "now" on: every stored message's subject and sequence is
 * handed to `onMessage` in sequence order (headers only, so it stays cheap), and `watermark` is the sequence of the last one delivered. Readers that know
 * a sequence exists (from a direct get) wait for the watermark to reach it — then their view holds
 * every message up to it, written by this process or any other. The client's ordered consumer
 * recreates itself from the last sequence after a server restart.
 */
interface Waiter {
  seq: number;
  resolve: (ok: boolean) => void;
}

export class StreamTail {
  #watermark: number;
  #waiters: Waiter[] = [];
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;

  private constructor(startSeq: number) {
    this.#watermark = startSeq - 1;
  }

  get watermark(): number {
    return this.#watermark;
  }

  static async start(
    js: JetStreamClient,
    jsm: JetStreamManager,
    stream: string,
    filter: string,
    onMessage: (seq: number, subject: string) => void,
    /** First sequence to announce; default: the next one the stream stores. */
    from?: number,
  ): Promise<StreamTail> {
    const startSeq = from ?? (await jsm.streams.info(stream)).state.last_seq + 1;
    const tail = new StreamTail(startSeq);
    const consumer = await js.consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSeq,
      // Only subjects and sequences: payloads are fetched by whoever needs them.
      headers_only: true,
    });
    // A pull lost across a server restart is noticed by two missed heartbeats: 2 s here, not the
    // client's default 2 × 15 s, during which every fresh read waited 10 s for the tail (a demo
    // whose server was killed stalled 40 s).
    const messages = await consumer.consume({ max_messages: 512, expires: 5_000, idle_heartbeat: 1_000 });
    tail.#messages = messages;
    tail.#loop = (async () => {
      for await (const m of messages) {
        try {
          onMessage(m.seq, m.subject);
        } catch {
          // An undecodable foreign message must not stop the tail; readers decode again and report.
        }
        tail.#advance(m.seq);
      }
    })().catch(() => {});
    return tail;
  }

  #advance(seq: number): void {
    if (seq <= this.#watermark) return;
    this.#watermark = seq;
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.seq <= seq) w.resolve(true);
      else still.push(w);
    }
    this.#waiters = still;
  }

  /** Resolves true once `seq` was delivered, false after `timeoutMs`. */
  waitFor(seq: number, timeoutMs: number): Promise<boolean> {
    if (seq <= this.#watermark) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = {
        seq,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  async stop(): Promise<void> {
    this.#messages?.stop();
    // A consumer stuck recreating itself (its server gone) may never end its loop: do not wait on it.
    await Promise.race([this.#loop, new Promise((r) => setTimeout(r, 2_000).unref())]);
    for (const w of this.#waiters) w.resolve(false);
    this.#waiters = [];
  }
}
