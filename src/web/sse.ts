/**
 * Server-Sent Events: one thread's log (`/api/threads/:id/events`) and every thread's activity
 * (`/api/live`). Each event carries its stream sequence as the SSE id, so a browser that
 * reconnects (after a network blip, a console restart or a NATS restart) sends `Last-Event-ID`
 * and the stream resumes right after it: nothing lost, nothing twice.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DeliverPolicy } from "@nats-io/jetstream";
import { type Backbone, Names } from "../nats/index.ts";
import { WebError, WebErrorCode } from "./errors.ts";

/** A comment line now and then keeps idle connections (and proxies) from timing out. */
const KEEPALIVE_MS = 20_000;

/** The open streams, so closing the console ends each one cleanly (its last chunk sent) before the sockets close. */
export class OpenStreams {
  readonly #open = new Map<() => void, Promise<void>>();
  /** `stop` ends the stream's source; `ended` resolves once its response has ended. */
  add(stop: () => void, ended: Promise<void>): () => void {
    this.#open.set(stop, ended);
    return () => this.#open.delete(stop);
  }
  async stopAll(): Promise<void> {
    const ending = [...this.#open.values()];
    for (const stop of this.#open.keys()) stop();
    await Promise.allSettled(ending);
  }
}

/** The sequence to resume after: the `Last-Event-ID` header (what EventSource sends), else `?after=`. */
export function resumeAfter(req: IncomingMessage, url: URL): number | undefined {
  const raw = (req.headers["last-event-id"] as string | undefined) ?? url.searchParams.get("after") ?? undefined;
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) throw new WebError(WebErrorCode.BadRequest, "Last-Event-ID must be an event sequence number");
  return Number(raw.trim());
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream", connection: "keep-alive", "x-accel-buffering": "no" });
  res.write(": vibewriter events\nretry: 2000\n\n");
}

/** Writes events until the client goes away or the console closes. */
async function pump(
  req: IncomingMessage,
  res: ServerResponse,
  streams: OpenStreams,
  stop: () => void,
  events: AsyncIterable<{ seq: number; data: string }>,
): Promise<void> {
  let ended!: () => void;
  const forget = streams.add(stop, new Promise<void>((resolve) => (ended = resolve)));
  req.on("close", stop);
  const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
  keepalive.unref();
  try {
    for await (const e of events) res.write(`id: ${e.seq}\nevent: vw\ndata: ${e.data}\n\n`);
  } finally {
    clearInterval(keepalive);
    forget();
    // Ended: its last chunk flushed ('finish'), or its client already gone ('close').
    if (res.destroyed || res.writableFinished) ended();
    else {
      res.once("finish", ended);
      res.once("close", ended);
    }
    res.end();
  }
}

export async function streamThreadEvents(req: IncomingMessage, res: ServerResponse, url: URL, backbone: Backbone, threadId: string, streams: OpenStreams): Promise<void> {
  const after = resumeAfter(req, url);
  const sub = backbone.events.subscribe(threadId, after === undefined ? { from: "beginning" } : { afterSeq: after });
  await sub.ready;
  startStream(res);
  await pump(req, res, streams, () => sub.stop(), (async function* () {
    for await (const e of sub) yield { seq: e.seq, data: JSON.stringify(e) };
  })());
}

/** Every thread's new events, as `{ threadId, type, seq }` (the page refreshes what they touch). */
export async function streamLive(req: IncomingMessage, res: ServerResponse, url: URL, backbone: Backbone, streams: OpenStreams): Promise<void> {
  const after = resumeAfter(req, url);
  const consumer = await backbone.js.consumers.get(Names.eventsStream, {
    filter_subjects: `${Names.eventsSubjectPrefix}.>`,
    ...(after === undefined ? { deliver_policy: DeliverPolicy.New } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }),
  });
  const messages = await consumer.consume({ max_messages: 256 });
  startStream(res);
  await pump(req, res, streams, () => messages.stop(), (async function* () {
    for await (const m of messages) {
      let e: { threadId?: unknown; type?: unknown };
      try {
        e = JSON.parse(new TextDecoder().decode(m.data)) as typeof e;
      } catch {
        continue; // not ours
      }
      if (typeof e.threadId !== "string" || typeof e.type !== "string") continue;
      yield { seq: m.seq, data: JSON.stringify({ threadId: e.threadId, type: e.type, seq: m.seq }) };
    }
  })());
}
