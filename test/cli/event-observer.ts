/**
 * Watches the events subjects with plain core-NATS subscriptions. Unlike reading the stream, this
 * sees every publish — including a copy the log dropped as a duplicate (JetStream's msg-id window,
 * or the log's own check of stored ids, which announces the copy on `vibewriter.duplicates.>`) —
 * so a test can count how many times a step really ran, across processes.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { VibewriterEvent } from "../../src/nats/event-types.ts";
import { Names } from "../../src/nats/index.ts";

export class EventObserver {
  readonly events: VibewriterEvent[] = [];
  /** The copies the log dropped because it already held their id (also in `events`). */
  readonly dropped: VibewriterEvent[] = [];
  readonly #subs: Subscription[];
  #waiters: { pred: (e: VibewriterEvent) => boolean; resolve: (e: VibewriterEvent) => void }[] = [];

  constructor(nc: NatsConnection) {
    const callback = (err: Error | null, msg: { subject: string; json<T>(): T }) => {
      if (err) return;
      const e = msg.json<VibewriterEvent>();
      this.events.push(e);
      if (msg.subject.startsWith(`${Names.duplicateEventsSubjectPrefix}.`)) this.dropped.push(e);
      for (const w of [...this.#waiters]) {
        if (w.pred(e)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    };
    this.#subs = [Names.eventsSubjectPrefix, Names.duplicateEventsSubjectPrefix].map((p) => nc.subscribe(`${p}.>`, { callback }));
  }

  /** Resolves with the first event (already seen or future) matching `pred`. */
  waitFor(pred: (e: VibewriterEvent) => boolean): Promise<VibewriterEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }

  of(threadId: string): VibewriterEvent[] {
    return this.events.filter((e) => e.threadId === threadId);
  }

  close(): void {
    for (const s of this.#subs) s.unsubscribe();
  }
}
