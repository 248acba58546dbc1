import { CodedError } from "../errors.ts";
import type { NatsErrorCode } from "./error-codes.ts";
export { NatsErrorCode } from "./error-codes.ts";

/**
 * One error type for the NATS backbone. Every failure carries a `code` from `NatsErrorCode`
 * (error-codes.ts) and the underlying `cause`, so callers branch on `err.code` instead of parsing
 * messages.
 */
export class NatsBackboneError extends CodedError<NatsErrorCode> {
  static override readonly errorName: string = "NatsBackboneError";
}
