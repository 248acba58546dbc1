/**
 * How many copies JetStream keeps of each stream, KV and Object Store bucket Vibewriter creates:
 * `VIBEWRITER_NATS_REPLICAS` (1 by default; 3 on a 3-node cluster). The embedded server is one
 * node: always R1. An existing stream is never rescaled behind the operator's back: a stream with
 * another replica count is reported (the runtime refuses to open, `doctor` lists it).
 */
import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import type { ServerInfo } from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

export const REPLICAS_ENV = "VIBEWRITER_NATS_REPLICAS";
/** JetStream's own limit. */
export const MAX_REPLICAS = 5;

/** `VIBEWRITER_NATS_REPLICAS`, validated; undefined when unset. */
export function replicasFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[REPLICAS_ENV]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `${REPLICAS_ENV} must be a whole number from 1 to ${MAX_REPLICAS} (3 on a 3-node cluster), not "${raw}"`);
  }
  return n;
}

/**
 * Whether the connected server can hold `want` replicas at all: a single server only R1. Checked
 * before anything is created (JetStream's own answer reads "replicas > 1 not supported").
 */
export function assertReplicasFit(info: ServerInfo | undefined, want: number): void {
  if (want <= 1 || !info || info.cluster) return;
  throw new NatsBackboneError(
    NatsErrorCode.InvalidArgument,
    `${REPLICAS_ENV}=${want} needs a NATS cluster, but ${info.server_name || "the server"} is a single server: use ${REPLICAS_ENV}=1, or NATS_URL of a cluster`,
  );
}

/**
 * A creation JetStream refused for want of room ("insufficient resources") while fewer servers are
 * up than `want` replicas: said as too few servers, not as a full disk. Undefined otherwise.
 */
export function tooFewServers(info: ServerInfo | undefined, want: number, cause: unknown): NatsBackboneError | undefined {
  // The cluster's INFO lists the client URL of every server up now (unless the operator hid them).
  const up = info?.connect_urls?.length ?? 0;
  if (want <= 1 || !info?.cluster || up === 0 || up >= want) return undefined;
  return new NatsBackboneError(
    NatsErrorCode.InvalidArgument,
    `${REPLICAS_ENV}=${want}, but cluster ${info.cluster} has ${up} servers up: JetStream cannot place ${want} replicas (start the others, or use ${REPLICAS_ENV}=${up})`,
    { cause },
  );
}

/** One of Vibewriter's streams as JetStream reports it. */
export interface StreamReplicas {
  /** Stream name (`KV_…`/`OBJ_…` for buckets). */
  name: string;
  replicas: number;
  /** `server_name` of the stream's leader (clustered only). */
  leader?: string;
  /** Peers besides the leader, and whether each is current. */
  peers: { name: string; current: boolean }[];
}

/** Streams of Vibewriter's (names containing `VIBEWRITER_`), sorted by name. */
export async function vibewriterStreams(jsm: JetStreamManager): Promise<StreamReplicas[]> {
  const out: StreamReplicas[] = [];
  for await (const si of jsm.streams.list()) {
    if (!isVibewriterStream(si.config.name)) continue;
    out.push(streamReplicas(si));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function streamReplicas(si: StreamInfo): StreamReplicas {
  return {
    name: si.config.name,
    replicas: si.config.num_replicas || 1,
    ...(si.cluster?.leader ? { leader: si.cluster.leader } : {}),
    peers: (si.cluster?.replicas ?? []).map((r) => ({ name: r.name, current: r.current })),
  };
}

function isVibewriterStream(name: string): boolean {
  return /^(KV_|OBJ_)?VIBEWRITER_/.test(name);
}

/** The streams whose replica count is not `want`. */
export function replicaMismatches(streams: readonly StreamReplicas[], want: number): StreamReplicas[] {
  return streams.filter((s) => s.replicas !== want);
}

/**
 * Every Vibewriter stream has `want` replicas, or a replicas_mismatch error naming each one that
 * has not (nothing is changed: rescaling is the operator's decision, and the ledger's, payments'
 * and mandates' streams are closed to the runtime's reconfiguration anyway).
 */
export async function assertReplicas(jsm: JetStreamManager, want: number): Promise<void> {
  const wrong = replicaMismatches(await vibewriterStreams(jsm), want);
  if (wrong.length === 0) return;
  throw new NatsBackboneError(
    NatsErrorCode.ReplicasMismatch,
    `${wrong.length} stream${wrong.length === 1 ? "" : "s"} ${wrong.length === 1 ? "has" : "have"} another replica count than ${REPLICAS_ENV}=${want} asks for ` +
      `(${wrong.map((s) => `${s.name} R${s.replicas}`).join(", ")}); nothing was changed. ` +
      `Set ${REPLICAS_ENV} to what they have, or have the operator rescale them (\`nats stream edit <name> --replicas ${want}\`).`,
  );
}
