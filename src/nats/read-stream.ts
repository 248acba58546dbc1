import { DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";

/**
 * Read what a stream holds for `filter` right now, in order, with a one-shot ordered consumer
 * (no server state left behind). `LastPerSubject` reads only the newest message per subject
 * (a KV bucket's current values); `fromSeq` starts at that stream sequence (an incremental read).
 * Resolves once the consumer reports nothing pending.
 */
export async function readStream(
  js: JetStreamClient,
  stream: string,
  filter: string,
  onMessage: (m: JsMsg) => void,
  opts: { lastPerSubject?: boolean; headersOnly?: boolean; fromSeq?: number } = {},
): Promise<void> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: opts.lastPerSubject ? DeliverPolicy.LastPerSubject : opts.fromSeq ? DeliverPolicy.StartSequence : DeliverPolicy.All,
    ...(opts.fromSeq && !opts.lastPerSubject ? { opt_start_seq: opts.fromSeq } : {}),
    headers_only: opts.headersOnly ?? false,
  });
  const info = await consumer.info(true);
  if (info.num_pending === 0) return;
  const messages = await consumer.consume({ max_messages: 1024 });
  try {
    for await (const m of messages) {
      onMessage(m);
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
}
