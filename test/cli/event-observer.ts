/**
 * Watches the events subject with a plain core-NATS subscription. Unlike reading the stream, this
 * sees every publish — including a copy that JetStream dropped as a duplicate — so a test can count
 * how many times a step really ran, across processes.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { VibewriterEvent } from "../../src/nats/event-types.ts";
import { Names } from "../../src/nats/index.ts";

export class EventObserver {
  readonly events: VibewriterEvent[] = [];
  readonly #sub: Subscription;
  #waiters: { pred: (e: VibewriterEvent) => boolean; resolve: (e: VibewriterEvent) => void }[] = [];

  constructor(nc: NatsConnection) {
    this.#sub = nc.subscribe(`${Names.eventsSubjectPrefix}.>`, {
      callback: (err, msg) => {
        if (err) return;
        const e = msg.json<VibewriterEvent>();
        this.events.push(e);
        for (const w of [...this.#waiters]) {
          if (w.pred(e)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      },
    });
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
    this.#sub.unsubscribe();
  }
}
