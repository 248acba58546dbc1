import { DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import { isNatsOutage } from "./outage.ts";

/** No message for this long while some are pending: the consumer is stranded (its server died). */
const STALL_MS = 10_000;
/** A read that cannot finish within this is reported as a NATS outage (the caller's to retry). */
const READ_WITHIN_MS = 60_000;

export interface ReadStreamOptions {
  lastPerSubject?: boolean;
  headersOnly?: boolean;
  fromSeq?: number;
  /** Tests: how long without a message counts as stranded. */
  stallMs?: number;
}

/**
 * Read what a stream holds for `filter` right now, in order, with a one-shot ordered consumer
 * (no server state left behind). `LastPerSubject` reads only the newest message per subject
 * (a KV bucket's current values); `fromSeq` starts at that stream sequence (an incremental read).
 * Resolves once the consumer reports nothing pending.
 *
 * On a cluster the consumer is an R1 on one server; when that server dies mid-read the client's
 * ordered consumer tries to recreate it for ever (nats.js on nats-server 2.9 was seen stuck for
 * minutes). So a read that gets nothing for `STALL_MS` starts again with a new consumer, after the
 * last message it delivered (a `lastPerSubject` read is buffered and delivered once whole), and
 * gives up with a `TimeoutError` (a NATS outage) after `READ_WITHIN_MS`. Each message reaches
 * `onMessage` once.
 */
export async function readStream(
  js: JetStreamClient,
  stream: string,
  filter: string,
  onMessage: (m: JsMsg) => void,
  opts: ReadStreamOptions = {},
): Promise<void> {
  const deadline = Date.now() + READ_WITHIN_MS;
  const buffered: JsMsg[] | undefined = opts.lastPerSubject ? [] : undefined;
  let fromSeq = opts.fromSeq;
  const deliver = buffered
    ? (m: JsMsg) => void buffered.push(m)
    : (m: JsMsg) => {
        onMessage(m);
        fromSeq = m.seq + 1;
      };
  for (;;) {
    try {
      await readOnce(js, stream, filter, deliver, { ...opts, fromSeq: buffered ? undefined : fromSeq }, opts.stallMs ?? STALL_MS);
      break;
    } catch (err) {
      if (!(err instanceof ReadStalled || isNatsOutage(err)) || Date.now() > deadline) throw err;
      if (buffered) buffered.length = 0;
    }
  }
  if (buffered) for (const m of buffered) onMessage(m);
}

/** The read got no message for a while with some still pending. */
class ReadStalled extends errors.TimeoutError {}

async function readOnce(
  js: JetStreamClient,
  stream: string,
  filter: string,
  deliver: (m: JsMsg) => void,
  opts: ReadStreamOptions,
  stallMs: number,
): Promise<void> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: opts.lastPerSubject ? DeliverPolicy.LastPerSubject : opts.fromSeq ? DeliverPolicy.StartSequence : DeliverPolicy.All,
    ...(opts.fromSeq && !opts.lastPerSubject ? { opt_start_seq: opts.fromSeq } : {}),
    headers_only: opts.headersOnly ?? false,
  });
  const info = await withinStall(consumer.info(true), stallMs);
  if (info.num_pending === 0) return;
  const messages = await withinStall(consumer.consume({ max_messages: 1024 }), stallMs);
  try {
    const it = messages[Symbol.asyncIterator]();
    for (;;) {
      const next = await withinStall(it.next(), stallMs);
      // Ended before the last pending message: not whole, read again.
      if (next.done) throw new ReadStalled();
      deliver(next.value);
      if (next.value.info.pending === 0) return;
    }
  } finally {
    messages.stop();
  }
}

function withinStall<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadStalled()), ms);
  });
  p.catch(() => {}); // settled after a stall: nobody listens any more
  return Promise.race([p, stalled]).finally(() => clearTimeout(timer));
}
