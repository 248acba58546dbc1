import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from "@nats-io/jetstream";
import { nuid } from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { EventType, type StoredEvent, type VibewriterEvent } from "./event-types.ts";
import { publishAcked } from "./publish.ts";
import { readStream } from "./read-stream.ts";
import { Names } from "./streams.ts";
import { encodeToken } from "./subject-token.ts";

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
}

const KNOWN_TYPES = new Set<string>(Object.values(EventType));
/** A Stellar secret seed: "S" + 55 base32 characters. */
const STELLAR_SEED = /\bS[A-Z2-7]{55}\b/;

/**
 * The live event log of each thread on `vibewriter.events.<thread>.<type>`: publish typed events
 * (acknowledged, deduplicated by id), subscribe live or from the beginning (ordered consumer,
 * survives server restarts), or read the history so far.
 */
export class EventLog {
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #prefix: string;

  constructor(js: JetStreamClient, opts: { stream?: string; subjectPrefix?: string } = {}) {
    this.#js = js;
    this.#stream = opts.stream ?? Names.eventsStream;
    this.#prefix = opts.subjectPrefix ?? Names.eventsSubjectPrefix;
  }

  #threadFilter(threadId: string): string {
    if (typeof threadId !== "string" || threadId === "") {
      throw new NatsBackboneError(NatsErrorCode.InvalidName, "event thread id must be a non-empty string");
    }
    return `${this.#prefix}.${encodeToken(threadId)}`;
  }

  /** Publish one event; resolves with it as stored once JetStream acknowledged it. */
  async publish(threadId: string, event: VibewriterEvent): Promise<StoredEvent> {
    const base = this.#threadFilter(threadId);
    if (!event || !KNOWN_TYPES.has((event as { type?: string }).type ?? "")) {
      throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `unknown event type: ${(event as { type?: string })?.type}`);
    }
    const stored = { ...event, threadId, ts: new Date().toISOString(), id: nuid.next() };
    const body = JSON.stringify(stored);
    if (STELLAR_SEED.test(body)) {
      throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `refusing to publish a ${event.type} event that contains a secret key`);
    }
    const r = await publishAcked(this.#js, `${base}.${event.type}`, new TextEncoder().encode(body), { msgID: stored.id });
    if (!r.stored) throw new NatsBackboneError(NatsErrorCode.WriteFailed, "event not stored");
    return { ...stored, seq: r.ack.seq } as StoredEvent;
  }

  /** Every event of the thread stored so far, in order. */
  async history(threadId: string, opts: { types?: readonly EventType[] } = {}): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    const types = opts.types ? new Set<string>(opts.types) : undefined;
    await readStream(this.#js, this.#stream, `${this.#threadFilter(threadId)}.>`, (m) => {
      const e = decodeEvent(m.data, m.seq);
      if (e && (!types || types.has(e.type))) out.push(e);
    });
    return out;
  }

  /** Follow the thread's events; iterate with `for await`, end with `stop()`. */
  subscribe(threadId: string, opts: SubscribeOptions = {}): EventSubscription {
    const filter = `${this.#threadFilter(threadId)}.>`;
    const types = opts.types ? new Set<string>(opts.types) : undefined;
    const js = this.#js;
    const stream = this.#stream;
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    const ready = (async () => {
      const consumer = await js.consumers.get(stream, {
        filter_subjects: filter,
        deliver_policy: opts.from === "beginning" ? DeliverPolicy.All : DeliverPolicy.New,
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
        for await (const m of msgs) {
          if (stopped) break;
          const e = decodeEvent(m.data, m.seq);
          if (e && (!types || types.has(e.type))) yield e;
        }
      },
    };
  }
}

function decodeEvent(data: Uint8Array, seq: number): StoredEvent | undefined {
  try {
    const e = JSON.parse(new TextDecoder().decode(data)) as StoredEvent;
    return KNOWN_TYPES.has(e.type) ? { ...e, seq } : undefined;
  } catch {
    return undefined; // not ours: skip rather than break every subscriber
  }
}
