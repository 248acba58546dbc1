/** What breaks the protocol itself, on either side: a bad frame, or a value that does not fit its schema. */
import { CodedError } from "../errors.ts";
import type { ProtocolErrorCode } from "./error-codes.ts";

export class ProtocolError extends CodedError<ProtocolErrorCode> {
  static override readonly errorName = "ProtocolError";
}
