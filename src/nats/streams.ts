import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/**
 * Names of everything Vibewriter keeps in JetStream. Subjects are fixed here so the checkpointer,
 * event log and tools agree on them.
 */
export const Names = {
  stateStream: "VIBEWRITER_STATE",
  stateSubjectPrefix: "vibewriter.state",
  eventsStream: "VIBEWRITER_EVENTS",
  eventsSubjectPrefix: "vibewriter.events",
  /** Copies of events the log already holds, announced (never stored) so a monitor can count replays. */
  duplicateEventsSubjectPrefix: "vibewriter.duplicates",
  /** KV bucket for long-term memory (LangGraph BaseStore). Stream name is `KV_<bucket>`. */
  memoryBucket: "VIBEWRITER_MEMORY",
  /** Object Store bucket for artifacts. Stream name is `OBJ_<bucket>`. */
  filesBucket: "VIBEWRITER_FILES",
  /** The wallet's audit ledger (one subject, so appends serialise on its last sequence). */
  ledgerStream: "VIBEWRITER_LEDGER",
  ledgerSubject: "vibewriter.ledger.entry",
  /** KV: payment records, the spend window, sequence counters (written by the agent runtime). */
  paymentsBucket: "VIBEWRITER_PAYMENTS",
  /** KV: the owner's signed mandates (approve/reject), written only by the owner identity. */
  mandatesBucket: "VIBEWRITER_MANDATES",
  /** Choir: `citation.>` stream, report metadata KV, report bodies Object Store. */
  choirStream: "VIBEWRITER_CHOIR",
  choirSubjects: "citation.>",
  choirReportsBucket: "VIBEWRITER_CHOIR_REPORTS",
  choirBodiesBucket: "VIBEWRITER_CHOIR_BODIES",
} as const;

/** How long JetStream remembers a `msgID` for dedup; unacked writes are retried within it. */
export const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;

/**
 * Agent state: limits retention, no age, no size or count limit, so nothing a live thread needs
 * can age out. One message per subject: re-publishing a subject (a special write, a re-put
 * checkpoint) replaces it. Direct get serves reads without a consumer.
 */
export function stateStreamConfig(): Partial<StreamConfig> {
  return {
    name: Names.stateStream,
    subjects: [`${Names.stateSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: 1,
    max_msg_size: -1,
    num_replicas: 1,
    duplicate_window: DUPLICATE_WINDOW_NS,
    allow_direct: true,
    allow_rollup_hdrs: false,
    deny_delete: false,
    deny_purge: false,
  };
}

/**
 * Live events: limits retention with an explicit cap (events are a log for people and dashboards,
 * not needed to resume), oldest dropped first.
 */
export function eventsStreamConfig(): Partial<StreamConfig> {
  return {
    name: Names.eventsStream,
    subjects: [`${Names.eventsSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 0,
    max_msgs: -1,
    max_bytes: 1024 * 1024 * 1024,
    max_msgs_per_subject: -1,
    num_replicas: 1,
    duplicate_window: DUPLICATE_WINDOW_NS,
    allow_direct: true,
  };
}

/** Create the stream or bring an existing one to `config` (idempotent). */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig>): Promise<void> {
  const name = config.name!;
  try {
    await jsm.streams.info(name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== 404) {
      throw new NatsBackboneError(NatsErrorCode.Connect, `cannot look up stream ${name}`, { cause: err });
    }
    try {
      await jsm.streams.add({ ...config, name });
      return;
    } catch (cause) {
      // Another process may have created it between info and add: fall through to update.
      if (!(cause instanceof JetStreamApiError) || cause.status !== 400) {
        throw new NatsBackboneError(NatsErrorCode.Connect, `cannot create stream ${name}`, { cause });
      }
    }
  }
  try {
    await jsm.streams.update(name, config);
  } catch (cause) {
    throw new NatsBackboneError(NatsErrorCode.Connect, `cannot update stream ${name}`, { cause });
  }
}
