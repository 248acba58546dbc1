/**
 * The composition root's user-facing error: what both front ends (the CLI and the console) show as
 * it is, with its `fix`. The CLI turns it into a `CliError` of the same meaning, the console into
 * an HTTP status.
 */
import { CodedError } from "../errors.ts";
import type { AppErrorCode } from "./error-codes.ts";
export { AppErrorCode } from "./error-codes.ts";

export class AppError extends CodedError<AppErrorCode> {
  static override readonly errorName = "AppError";
}
