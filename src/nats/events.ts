import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";

/** WIP skeleton: the real implementation follows. */
export class EventLog {
  constructor(readonly js: JetStreamClient, readonly jsm: JetStreamManager) {}
}
