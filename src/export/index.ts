/**
 * Report export: a published report as a document people forward (HTML, PDF, markdown), with
 * footnotes, a sources appendix and a verification summary checked at export time.
 */
export { buildReportDocument, loadReportDocument, footnoteToken, FOOTNOTE_TOKEN_RE, verificationSummary } from "./report-document.ts";
export type { Footnote, ReportDocument, ReportVerification, SourceEntry, StoredSource } from "./report-document.ts";
export { renderReportHtml, type RenderHtmlOptions } from "./html.ts";
export { renderReportMarkdown } from "./markdown.ts";
export { renderPdf, DEFAULT_CHROMIUM, TAGGED_PDF_MAX_FOOTNOTES, type RenderPdfOptions } from "./pdf.ts";
export { ExportError, ExportErrorCode } from "./errors.ts";
