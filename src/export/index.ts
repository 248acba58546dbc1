/**
 * Report export: a published report as a document people forward (HTML, PDF, markdown), with
 * footnotes, a sources appendix and a verification summary checked at export time.
 */
export { ExportErrorCode } from "./error-codes.ts";
export { ExportError } from "./errors.ts";
export { renderReportHtml } from "./html.ts";
export { renderReportMarkdown } from "./markdown.ts";
export { renderPdf, TAGGED_PDF_MAX_FOOTNOTES } from "./pdf.ts";
export { loadReportDocument, type ReportDocument } from "./report-document.ts";
