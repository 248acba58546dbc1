import { CodedError } from "../errors.ts";
/**
 * One error type for the agent layer. Every failure carries a `code` from this table and the
 * underlying `cause`, so the CLI branches on `err.code` and prints `err.message` once.
 */
export const AgentErrorCode = {
  /** No model provider configured; the message says exactly what to set. */
  ModelNotConfigured: "MODEL_NOT_CONFIGURED",
  /** A thread id that has no checkpoint and no events. */
  UnknownThread: "UNKNOWN_THREAD",
  /** A thread id that cannot be used (empty, too long, odd characters). */
  InvalidThreadId: "INVALID_THREAD_ID",
  /** A `--sources` folder or file that cannot be used (missing, binary, too large, unreadable). */
  BadSource: "BAD_SOURCE",
  /** A skill folder whose SKILL.md is missing or malformed. */
  BadSkill: "BAD_SKILL",
  /** A report whose citations do not all resolve to a stored source and quote. */
  UnverifiableCitation: "UNVERIFIABLE_CITATION",
  /** The sandbox could not be prepared (skills or sources upload failed). */
  SandboxSetup: "SANDBOX_SETUP",
  /** The model or the graph failed mid-run; the thread's state is kept and can be resumed. */
  RunFailed: "RUN_FAILED",
  /** Bad options passed to the API. */
  InvalidArgument: "INVALID_ARGUMENT",
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

export class AgentError extends CodedError<AgentErrorCode> {
  override name = "AgentError";
  static isInstance(err: unknown, code?: AgentErrorCode): err is AgentError {
    return err instanceof AgentError && (code === undefined || err.code === code);
  }
}

/** Thrown by `resolveModel()` when no provider is configured. */
export class ModelNotConfiguredError extends AgentError {
  override name = "ModelNotConfiguredError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(AgentErrorCode.ModelNotConfigured, message, options);
  }
}
