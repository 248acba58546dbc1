import { CodedError } from "../errors.ts";

/** Errors of report export. Messages name threads, files and programs; never report text. */
export const ExportErrorCode = {
  /** The thread has no published report (still running, stopped before publishing, or unknown). */
  NoReport: "no_report",
  /** The browser that prints PDFs is not installed (or `VIBEWRITER_CHROMIUM` points nowhere). */
  BrowserMissing: "browser_missing",
  /** The browser ran and produced no PDF, or did not finish in time. */
  PdfFailed: "pdf_failed",
} as const;
export type ExportErrorCode = (typeof ExportErrorCode)[keyof typeof ExportErrorCode];

export class ExportError extends CodedError<ExportErrorCode> {
  override readonly name = "ExportError";
  /** What to do about it, one line (the CLI prints it under the message). */
  readonly fix?: string;

  constructor(code: ExportErrorCode, message: string, options: { cause?: unknown; fix?: string } = {}) {
    super(code, message, { cause: options.cause });
    this.fix = options.fix;
  }

  static isInstance(e: unknown, code?: ExportErrorCode): e is ExportError {
    const is = e instanceof ExportError || (e instanceof Error && e.name === "ExportError" && "code" in e);
    return is && (code === undefined || (e as ExportError).code === code);
  }
}
