import { CodedError } from "../errors.ts";
/** Errors of the Choir economy. Messages carry ids and titles only. */
export const ChoirErrorCode = {
  InvalidReport: "invalid_report",
  ReportNotFound: "report_not_found",
  InvalidCitation: "invalid_citation",
  InvalidPeriod: "invalid_period",
  Nats: "nats_error",
} as const;
export type ChoirErrorCode = (typeof ChoirErrorCode)[keyof typeof ChoirErrorCode];

export class ChoirError extends CodedError<ChoirErrorCode> {
  override readonly name = "ChoirError";
  static isInstance(e: unknown): e is ChoirError {
    return e instanceof ChoirError || (e instanceof Error && e.name === "ChoirError" && "code" in e);
  }
}
