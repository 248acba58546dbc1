/** Error codes of the Choir economy (`ChoirError`, errors.ts). */
export const ChoirErrorCode = {
  InvalidReport: "invalid_report",
  ReportNotFound: "report_not_found",
  InvalidCitation: "invalid_citation",
  InvalidPeriod: "invalid_period",
  Nats: "nats_error",
} as const;
export type ChoirErrorCode = (typeof ChoirErrorCode)[keyof typeof ChoirErrorCode];
