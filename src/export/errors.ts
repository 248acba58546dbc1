import { CodedError } from "../errors.ts";
import type { ExportErrorCode } from "./error-codes.ts";
export { ExportErrorCode } from "./error-codes.ts";

/** Errors of report export. Messages name threads, files and programs; never report text. */
export class ExportError extends CodedError<ExportErrorCode> {
  static override readonly errorName = "ExportError";
}

