/** The codes of `NatsBackboneError` (errors.ts): snake_case, like every layer's. */
export const NatsErrorCode = {
  /** The `nats-server` binary is not installed. */
  ServerMissing: "server_missing",
  /** The server process exited or never became ready. */
  ServerStart: "server_start",
  /** Could not connect to the configured NATS URL. */
  Connect: "connect",
  /** A JetStream write was not acknowledged after every retry. */
  WriteFailed: "write_failed",
  /** JetStream answered a write with an error (one attempt; `AckRefusedError` carries its status). */
  WriteRefused: "write_refused",
  /** Stored data could not be decoded (corrupt or foreign message). */
  Corrupt: "corrupt",
  /** A name, id or key that cannot be stored (empty, too long, …). */
  InvalidName: "invalid_name",
  /** An artifact or entry that does not exist. */
  NotFound: "not_found",
  /** Bad configuration or arguments. */
  InvalidArgument: "invalid_argument",
  /** The object is closed. */
  Closed: "closed",
  /** The store's disk has no room for the write (JetStream refused it, or the disk filled). */
  DiskFull: "disk_full",
  /** The embedded nats-server died and could not be restarted, or another one holds its store. */
  ServerLost: "server_lost",
  /** A stream or bucket has another replica count than `VIBEWRITER_NATS_REPLICAS` asks for (replicas.ts). */
  ReplicasMismatch: "replicas_mismatch",
} as const;
export type NatsErrorCode = (typeof NatsErrorCode)[keyof typeof NatsErrorCode];
