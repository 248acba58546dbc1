/** The codes of `ExportError` (errors.ts): snake_case, like every layer's. */
export const ExportErrorCode = {
  /** The thread has no published report (still running, stopped before publishing, or unknown). */
  NoReport: "no_report",
  /** The browser that prints PDFs is not installed (or `VIBEWRITER_CHROMIUM` points nowhere). */
  BrowserMissing: "browser_missing",
  /** The browser ran and produced no PDF, or did not finish in time. */
  PdfFailed: "pdf_failed",
} as const;
export type ExportErrorCode = (typeof ExportErrorCode)[keyof typeof ExportErrorCode];
