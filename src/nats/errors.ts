import { CodedError } from "../errors.ts";
/**
 * One error type for the NATS backbone. Every failure carries a `code` from this table and the
 * underlying `cause`, so callers branch on `err.code` instead of parsing messages.
 */
export const NatsErrorCode = {
  /** The `nats-server` binary is not installed. */
  ServerMissing: "SERVER_MISSING",
  /** The server process exited or never became ready. */
  ServerStart: "SERVER_START",
  /** Could not connect to the configured NATS URL. */
  Connect: "CONNECT",
  /** A JetStream write was not acknowledged after every retry. */
  WriteFailed: "WRITE_FAILED",
  /** Stored data could not be decoded (corrupt or foreign message). */
  Corrupt: "CORRUPT",
  /** A name, id or key that cannot be stored (empty, too long, …). */
  InvalidName: "INVALID_NAME",
  /** An artifact or entry that does not exist. */
  NotFound: "NOT_FOUND",
  /** Bad configuration or arguments. */
  InvalidArgument: "INVALID_ARGUMENT",
  /** The object is closed. */
  Closed: "CLOSED",
  /** The store's disk has no room for the write (JetStream refused it, or the disk filled). */
  DiskFull: "DISK_FULL",
  /** The embedded nats-server died and could not be restarted, or another one holds its store. */
  ServerLost: "SERVER_LOST",
  /** A stream or bucket has another replica count than `VIBEWRITER_NATS_REPLICAS` asks for (replicas.ts). */
  ReplicasMismatch: "REPLICAS_MISMATCH",
} as const;
export type NatsErrorCode = (typeof NatsErrorCode)[keyof typeof NatsErrorCode];

export class NatsBackboneError extends CodedError<NatsErrorCode> {
  override name = "NatsBackboneError";
  static isInstance(err: unknown, code?: NatsErrorCode): err is NatsBackboneError {
    return err instanceof NatsBackboneError && (code === undefined || err.code === code);
  }
}
