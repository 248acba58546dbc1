import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { diskFullError, isNoRoom } from "./disk-space.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/** The Choir's subjects: `citation.new.<cited>.<citing>`, `citation.reward.<author>.<period>`. */
const CITATION = "citation";

/**
 * Names of everything Vibewriter keeps in JetStream, defined here and nowhere else: the
 * checkpointer, event log, wallet, ledger, Choir, run queue, leases, ACLs (auth.ts) and tools
 * all import them. Never rename one: existing stores and their users' permissions hold these
 * names (test/nats/names.test.ts pins them).
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
  /** The wallet's audit ledger: one subject, so expected-last-subject-sequence serialises appends (it is ignored on wildcards). */
  ledgerStream: "VIBEWRITER_LEDGER",
  ledgerSubject: "vibewriter.ledger.entry",
  /** KV: payment records, the spend window, sequence counters (written by the agent runtime). */
  paymentsBucket: "VIBEWRITER_PAYMENTS",
  /** KV: the owner's signed mandates (approve/reject), written only by the owner identity. */
  mandatesBucket: "VIBEWRITER_MANDATES",
  /** Choir: `citation.>` stream, report metadata KV, report bodies Object Store. */
  choirStream: "VIBEWRITER_CHOIR",
  choirSubjectPrefix: CITATION,
  choirSubjects: `${CITATION}.>`,
  choirReportsBucket: "VIBEWRITER_CHOIR_REPORTS",
  choirBodiesBucket: "VIBEWRITER_CHOIR_BODIES",
  /** KV: one lease per thread (who runs it now), compare-and-set on the revision (thread-lease.ts). */
  leasesBucket: "VIBEWRITER_LEASES",
  /** Work queue of run requests (`vibewriter submit`), pulled by `vibewriter worker` (run-queue.ts). */
  runsStream: "VIBEWRITER_RUNS",
  runsSubjectPrefix: "vibewriter.runs",
  /** The NATS service (`@nats-io/services`) answering submit/status, discoverable under `$SRV.>`. */
  serviceName: "vibewriter",
  /** Endpoints of that service: `<it>.submit`, `<it>.status`. */
  serviceSubjectPrefix: "vibewriter.svc",
} as const;

/**
 * The streams and subjects JetStream gives a bucket (the layout nats.js and the server agree on):
 * a KV bucket is the stream `KV_<bucket>`, its keys on `$KV.<bucket>.<key>`; an Object Store
 * bucket is the stream `OBJ_<bucket>`, chunks on `$O.<bucket>.C.<nuid>`, each object's info on
 * `$O.<bucket>.M.<name as base64url>`.
 */
export const kvStreamName = (bucket: string): string => `KV_${bucket}`;
export const kvSubjectPrefix = (bucket: string): string => `$KV.${bucket}`;
export const objectStoreStreamName = (bucket: string): string => `OBJ_${bucket}`;
export const objectStoreSubjectPrefix = (bucket: string): string => `$O.${bucket}`;
export const objectChunkSubjectPrefix = (bucket: string): string => `$O.${bucket}.C.`;
export const objectInfoSubjectPrefix = (bucket: string): string => `$O.${bucket}.M.`;

/** How long JetStream remembers a `msgID` for dedup; unacked writes are retried within it. */
export const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;

/**
 * Agent state: limits retention, no age, no size or count limit, so nothing a live thread needs
 * can age out. One message per subject: re-publishing a subject (a special write, a re-put
 * checkpoint) replaces it. Direct get serves reads without a consumer.
 */
export function stateStreamConfig(replicas = 1): Partial<StreamConfig> {
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
    num_replicas: replicas,
    duplicate_window: DUPLICATE_WINDOW_NS,
    allow_direct: true,
    allow_rollup_hdrs: false,
    deny_delete: false,
    deny_purge: false,
  };
}

/**
 * Live events: limits retention, no size cap. A cap is a reservation: JetStream refuses to create
 * (or even restore) a stream whose `max_bytes` does not fit the disk, which made every command fail
 * on a small disk. Growth is bounded by retention instead (`vibewriter prune`, retention.ts).
 */
export function eventsStreamConfig(replicas = 1): Partial<StreamConfig> {
  return {
    name: Names.eventsStream,
    subjects: [`${Names.eventsSubjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: -1,
    num_replicas: replicas,
    duplicate_window: DUPLICATE_WINDOW_NS,
    allow_direct: true,
  };
}

/**
 * Create the stream or bring an existing one to `config` (idempotent). A stream already as
 * configured is left alone: an update writes the stream's metadata, which fails on a full disk.
 * An existing stream keeps its replica count (rescaling is the operator's call; replicas.ts
 * reports a difference).
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig>): Promise<void> {
  const name = config.name!;
  let addRefused: Error | undefined;
  try {
    const info = await jsm.streams.info(name);
    config = { ...config, num_replicas: info.config.num_replicas };
    if (hasConfig(info.config, config)) return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== 404) {
      throw new NatsBackboneError(NatsErrorCode.Connect, `cannot look up stream ${name}`, { cause: err });
    }
    try {
      await jsm.streams.add({ ...config, name });
      return;
    } catch (cause) {
      // Another process may have created it between info and add: fall through to update.
      if (isNoRoom(cause)) throw diskFullError(cause);
      if (!(cause instanceof JetStreamApiError) || cause.status !== 400) {
        throw new NatsBackboneError(NatsErrorCode.Connect, `cannot create stream ${name}`, { cause });
      }
      addRefused = cause;
    }
  }
  try {
    await jsm.streams.update(name, config);
  } catch (cause) {
    if (isNoRoom(cause)) throw diskFullError(cause);
    // Nobody created it after all: JetStream's answer to the create is the one that says why.
    if (addRefused && cause instanceof JetStreamApiError && cause.status === 404) {
      throw new NatsBackboneError(NatsErrorCode.Connect, `cannot create stream ${name}: ${addRefused.message}`, { cause: addRefused });
    }
    throw new NatsBackboneError(NatsErrorCode.Connect, `cannot update stream ${name}`, { cause });
  }
}

/** Every field `want` sets has that value in `have` (the server fills in the rest). */
function hasConfig(have: Partial<StreamConfig>, want: Partial<StreamConfig>): boolean {
  return Object.entries(want).every(([k, v]) => JSON.stringify((have as Record<string, unknown>)[k]) === JSON.stringify(v));
}
