import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { nuid, type NatsConnection } from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { isEventType, type EventType, type NewEvent, type StoredEvent, type VibewriterEvent } from "./event-types.ts";
import { publishAcked } from "./publish.ts";
import { readStream } from "./read-stream.ts";
import { looksSecret } from "./secret-shapes.ts";
import { Names } from "./streams.ts";
import { decodeToken, encodeToken } from "./subject-token.ts";

export interface EventSubscription extends AsyncIterable<StoredEvent> {
  /** Resolves once the server-side consumer exists: "now" means from this point on. */
  ready: Promise<void>;
  /** End the iteration (pending `for await` loops finish). */
  stop(): void;
}

export interface SubscribeOptions {
  /** "beginning" replays the thread's stored events first; "now" (default) only new ones. */
  from?: "beginning" | "now";
  /** Only these types (filtered in the client: 2.9 servers allow one filter per consumer). */
  types?: readonly EventType[];
  /** Resume after this stream sequence (an SSE client's Last-Event-ID); overrides `from`. */
  afterSeq?: number;
}

/** How many threads' stored event ids one EventLog keeps in memory (least recently used go first). */
const KNOWN_THREADS = 64;

/**
 * The event log of each thread on `vibewriter.events.<thread>.<type>`: publish typed events
 * (acknowledged, stored once per id at any age), subscribe live or from the beginning (ordered
 * consumer, survives server restarts), read the history so far, list the threads that have one.
 * The only code in Vibewriter that writes or reads the events stream.
 */
export class EventLog {
  readonly #js: JetStreamClient;
  readonly #nc: NatsConnection | undefined;
  #jsm: Promise<JetStreamManager> | undefined;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #duplicatesPrefix: string;
  /** Per thread: the ids the log holds (id → sequence), read from the stream once, then kept up to date. */
  readonly #stored = new Map<string, Promise<Map<string, number | Promise<number>>>>();

  constructor(
    js: JetStreamClient,
    opts: { nc?: NatsConnection; jsm?: JetStreamManager; stream?: string; subjectPrefix?: string; duplicatesPrefix?: string } = {},
  ) {
    this.#js = js;
    this.#nc = opts.nc;
    this.#jsm = opts.jsm ? Promise.resolve(opts.jsm) : undefined;
    this.#stream = opts.stream ?? Names.eventsStream;
    this.#prefix = opts.subjectPrefix ?? Names.eventsSubjectPrefix;
    this.#duplicatesPrefix = opts.duplicatesPrefix ?? Names.duplicateEventsSubjectPrefix;
  }

  /** `vibewriter.events.<thread token>`: every subject of the thread's events is below it. */
  threadSubject(threadId: string): string {
    if (typeof threadId !== "string" || threadId === "") {
      throw new NatsBackboneError(NatsErrorCode.InvalidName, "event thread id must be a non-empty string");
    }
    return `${this.#prefix}.${encodeToken(threadId)}`;
  }

  /**
   * Publish one event; resolves with it as stored once JetStream acknowledged it. Publishing an
   * id the thread already has stores nothing and resolves with the first copy's sequence — at any
   * age: the ids are checked against what the stream holds (read once per thread), not only
   * against JetStream's 2-minute msg-id window (which still collapses racing writers). The
   * dropped copy is announced, not stored, on `vibewriter.duplicates.<thread>.<type>` so a
   * monitor can count replays.
   */
  async publish(threadId: string, event: NewEvent): Promise<StoredEvent> {
    const base = this.threadSubject(threadId);
    const type = (event as { type?: unknown } | null)?.type;
    if (!isEventType(type)) {
      throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `unknown event type: ${String(type)}`);
    }
    if (event.id !== undefined && (typeof event.id !== "string" || event.id === "")) {
      throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `a ${type} event id must be a non-empty string`);
    }
    if (event.at !== undefined && (typeof event.at !== "string" || Number.isNaN(Date.parse(event.at)))) {
      throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `a ${type} event's time must be an ISO 8601 string, got ${JSON.stringify(event.at)}`);
    }
    if (!event.data || typeof event.data !== "object") {
      throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `a ${type} event needs a data object`);
    }
    const stored = {
      id: event.id ?? nuid.next(),
      type,
      threadId,
      agent: event.agent ?? "main",
      at: event.at ?? new Date().toISOString(),
      data: event.data,
    } as VibewriterEvent;
    const body = JSON.stringify(stored);
    if (looksSecret(body)) {
      throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `refusing to publish a ${type} event that contains a secret key`);
    }
    const data = new TextEncoder().encode(body);
    // Random ids are new by construction: only stable ids are checked against the stored log.
    const known = event.id === undefined ? undefined : await this.#storedIds(threadId);
    const first = known?.get(stored.id);
    if (first !== undefined) {
      const seq = await first;
      this.#announceDuplicate(threadId, type, data);
      return { ...stored, seq };
    }
    // The msgID names the thread too: ids are unique per thread, the dedup window is per stream.
    const publishing = publishAcked(this.#js, `${base}.${type}`, data, { msgID: `${threadId}/${stored.id}` }).then((r) => {
      if (!r.stored) throw new NatsBackboneError(NatsErrorCode.WriteFailed, "event not stored");
      return r.ack.seq;
    });
    known?.set(stored.id, publishing);
    try {
      const seq = await publishing;
      known?.set(stored.id, seq);
      return { ...stored, seq };
    } catch (e) {
      // Not acknowledged: whether it was stored is unknown, so read the log again next time.
      this.#stored.delete(threadId);
      throw e;
    }
  }

  /** The thread's stored event ids, read from the stream on first use. */
  #storedIds(threadId: string): Promise<Map<string, number | Promise<number>>> {
    let ids = this.#stored.get(threadId);
    if (ids) {
      this.#stored.delete(threadId); // re-insert: most recently used last
      this.#stored.set(threadId, ids);
      return ids;
    }
    ids = (async () => {
      const out = new Map<string, number | Promise<number>>();
      await readStream(this.#js, this.#stream, `${this.threadSubject(threadId)}.>`, (m) => {
        const e = decodeEvent(m.data, m.seq);
        if (e && !out.has(e.id)) out.set(e.id, m.seq);
      });
      return out;
    })();
    ids.catch(() => this.#stored.delete(threadId));
    this.#stored.set(threadId, ids);
    while (this.#stored.size > KNOWN_THREADS) this.#stored.delete(this.#stored.keys().next().value!);
    return ids;
  }

  #announceDuplicate(threadId: string, type: string, data: Uint8Array): void {
    if (!this.#nc || this.#nc.isClosed()) return;
    try {
      this.#nc.publish(`${this.#duplicatesPrefix}.${encodeToken(threadId)}.${type}`, data);
    } catch {
      // Monitoring only: never fail the publisher over it.
    }
  }

  /** Every event of the thread stored so far, in order (one per id: a copy stored before ids were checked is skipped). */
  async history(threadId: string, opts: { types?: readonly EventType[] } = {}): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    const seen = new Set<string>();
    const types = opts.types ? new Set<string>(opts.types) : undefined;
    await readStream(this.#js, this.#stream, `${this.threadSubject(threadId)}.>`, (m) => {
      const e = decodeEvent(m.data, m.seq);
      if (!e || seen.has(e.id)) return;
      seen.add(e.id);
      if (!types || types.has(e.type)) out.push(e);
    });
    return out;
  }

  /** Follow the thread's events; iterate with `for await`, end with `stop()`. */
  subscribe(threadId: string, opts: SubscribeOptions = {}): EventSubscription {
    const filter = `${this.threadSubject(threadId)}.>`;
    const types = opts.types ? new Set<string>(opts.types) : undefined;
    const js = this.#js;
    const stream = this.#stream;
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    const ready = (async () => {
      const consumer = await js.consumers.get(stream, {
        filter_subjects: filter,
        ...(opts.afterSeq !== undefined
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: opts.afterSeq + 1 }
          : { deliver_policy: opts.from === "beginning" ? DeliverPolicy.All : DeliverPolicy.New }),
      });
      messages = await consumer.consume({ max_messages: 256 });
      if (stopped) messages.stop();
      return messages;
    })();
    // Surface a failed start through `ready` and the iterator, not as an unhandled rejection.
    ready.catch(() => {});
    return {
      ready: ready.then(() => undefined),
      stop() {
        stopped = true;
        messages?.stop();
      },
      async *[Symbol.asyncIterator]() {
        const msgs = await ready;
        const seen = new Set<string>();
        for await (const m of msgs) {
          if (stopped) break;
          const e = decodeEvent(m.data, m.seq);
          if (!e || seen.has(e.id)) continue;
          seen.add(e.id);
          if (!types || types.has(e.type)) yield e;
        }
      },
    };
  }

  /** Ids of the threads that have events, sorted (thread ids too long to spell in a subject are hashed and left out). */
  async threads(): Promise<string[]> {
    this.#jsm ??= this.#js.jetstreamManager(false);
    const info = await (await this.#jsm).streams.info(this.#stream, { subjects_filter: `${this.#prefix}.>` });
    const ids = new Set<string>();
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const token = subject.slice(this.#prefix.length + 1).split(".")[0]!;
      const id = decodeToken(token);
      if (id !== undefined) ids.add(id);
    }
    return [...ids].sort();
  }
}

function decodeEvent(data: Uint8Array, seq: number): StoredEvent | undefined {
  try {
    const e = JSON.parse(new TextDecoder().decode(data)) as VibewriterEvent;
    return isEventType(e?.type) && typeof e.id === "string" && e.data && typeof e.data === "object" ? { ...e, seq } : undefined;
  } catch {
    return undefined; // not ours: skip rather than break every subscriber
  }
}
