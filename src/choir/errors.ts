import { CodedError } from "../errors.ts";
import type { ChoirErrorCode } from "./error-codes.ts";
export { ChoirErrorCode } from "./error-codes.ts";

/** Errors of the Choir economy. Messages carry ids and titles only. */
export class ChoirError extends CodedError<ChoirErrorCode> {
  static override readonly errorName = "ChoirError";
}
