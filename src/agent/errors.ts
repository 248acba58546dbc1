import { CodedError } from "../errors.ts";
import { AgentErrorCode } from "./error-codes.ts";
export { AgentErrorCode } from "./error-codes.ts";

/**
 * One error type for the agent layer. Every failure carries a `code` from `AgentErrorCode`
 * (error-codes.ts) and the underlying `cause`, so the CLI branches on `err.code` and prints
 * `err.message` once.
 */
export class AgentError extends CodedError<AgentErrorCode> {
  /** `string`, not the literal: ModelNotConfiguredError below has its own. */
  static override readonly errorName: string = "AgentError";
}

/** Thrown by `resolveModel()` when no provider is configured. */
export class ModelNotConfiguredError extends AgentError {
  static override readonly errorName = "ModelNotConfiguredError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(AgentErrorCode.ModelNotConfigured, message, options);
  }
}
