/** The one error type of the host ⇄ guest channel. */
import { CodedError } from "../errors.ts";
import type { GuestErrorCode } from "./guest-error-codes.ts";
export { GuestErrorCode } from "./guest-error-codes.ts";

export class GuestError extends CodedError<GuestErrorCode> {
  static override readonly errorName = "GuestError";
}

