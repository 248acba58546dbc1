/**
 * A thread's stored files, its report and its sources, as the console serves them. Files come from
 * the Object Store under the thread's own prefix only (no `..`, no absolute or empty segments), as
 * `text/plain; charset=utf-8` when they are UTF-8 text and `application/octet-stream` otherwise —
 * never as HTML, so nothing a run wrote can run script on the console's origin.
 */
import type { ServerResponse } from "node:http";
import { readSourceManifest, SOURCE_PATHS } from "../agent/index.ts";
import { ExportError, ExportErrorCode, loadReportDocument, renderReportHtml, renderReportMarkdown, type ReportDocument } from "../export/index.ts";
import { type Backbone, NatsBackboneError, NatsErrorCode } from "../nats/index.ts";
import { attachment, sendJson } from "./http.ts";
import { threadPrefix } from "./thread-view.ts";
import { WebError, WebErrorCode } from "./errors.ts";

/** The Object Store name of `rel` (already percent-decoded segments joined by `/`) in the thread, or a 400. */
export function threadObjectName(threadId: string, segments: readonly string[]): string {
  if (segments.length === 0) throw new WebError(WebErrorCode.BadRequest, "no file path");
  for (const s of segments) {
    if (s === "" || s === "." || s === ".." || s.includes("\\") || s.includes("\0") || s.includes("/")) {
      throw new WebError(WebErrorCode.BadRequest, "invalid file path: plain names separated by / only");
    }
  }
  return threadPrefix(threadId) + segments.join("/");
}

/** Text when the bytes are valid UTF-8 without NUL (a binary file nearly always has one). */
function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export async function serveThreadFile(res: ServerResponse, backbone: Backbone, name: string, download: boolean): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await backbone.artifacts.getBytes(name);
  } catch (e) {
    if (NatsBackboneError.isInstance(e, NatsErrorCode.NotFound)) throw new WebError(WebErrorCode.NotFound, "no such file");
    throw e;
  }
  res.writeHead(200, {
    "content-type": isText(bytes) ? "text/plain; charset=utf-8" : "application/octet-stream",
    "content-length": bytes.length,
    ...(download ? { "content-disposition": attachment(name.split("/").at(-1)!) } : {}),
  });
  res.end(bytes);
}

/** The report document, or a 404 when the thread has not published one. */
async function reportOf(backbone: Backbone, threadId: string): Promise<ReportDocument> {
  try {
    return await loadReportDocument(backbone, threadId);
  } catch (e) {
    if (ExportError.isInstance(e, ExportErrorCode.NoReport)) throw new WebError(WebErrorCode.NotFound, e.message);
    throw e;
  }
}

/** The page route that shows a source with the quote highlighted (the page reads `quote` from its own fragment). */
export const sourceHref = (threadId: string, sourceId: string, quote: string) =>
  `#/thread/${encodeURIComponent(threadId)}/source/${encodeURIComponent(sourceId)}?quote=${encodeURIComponent(quote)}`;

export async function serveReport(res: ServerResponse, backbone: Backbone, threadId: string): Promise<void> {
  const doc = await reportOf(backbone, threadId);
  const html = renderReportHtml(doc, { standalone: false, sourceHref: (f) => sourceHref(threadId, f.sourceId, f.quote) });
  const { citations, verified, summary } = doc.verification;
  sendJson(res, 200, { html, verification: { citations, verified, summary } });
}

export async function serveSource(res: ServerResponse, backbone: Backbone, threadId: string, sourceId: string): Promise<void> {
  // Only a source of this thread (its manifest names it), never any object by a guessed id.
  const info = (await readSourceManifest(backbone.blobs, threadId)).find((s) => s.id === sourceId);
  const raw = info ? await backbone.artifacts.getBytes(SOURCE_PATHS.artifact(info.id)).catch(() => undefined) : undefined;
  if (!info || !raw) throw new WebError(WebErrorCode.NotFound, `thread ${threadId} has no source "${sourceId.slice(0, 80)}"`);
  sendJson(res, 200, {
    id: info.id,
    ...(info.title ? { title: info.title } : {}),
    origin: info.origin,
    ...(/^https?:\/\//i.test(info.origin) ? { url: info.origin } : {}),
    text: new TextDecoder().decode(raw),
  });
}

export const ExportFormat = { Html: "html", Markdown: "md", Pdf: "pdf" } as const;
export type ExportFormat = (typeof ExportFormat)[keyof typeof ExportFormat];

/** The report as a download; the HTML export is served as an attachment only (never rendered on the console's origin). */
export async function serveExport(res: ServerResponse, backbone: Backbone, threadId: string, format: string | null, signal: AbortSignal): Promise<void> {
  if (format !== ExportFormat.Html && format !== ExportFormat.Markdown && format !== ExportFormat.Pdf) {
    throw new WebError(WebErrorCode.BadRequest, "format must be html, md or pdf");
  }
  const doc = await reportOf(backbone, threadId);
  let body: Uint8Array | string;
  let type: string;
  if (format === ExportFormat.Markdown) {
    body = renderReportMarkdown(doc);
    type = "text/markdown; charset=utf-8";
  } else {
    const html = renderReportHtml(doc, { standalone: true });
    if (format === ExportFormat.Html) {
      body = html;
      type = "text/html; charset=utf-8";
    } else {
      const { renderPdf } = await import("../export/pdf.ts");
      body = await renderPdf(html, { signal });
      type = "application/pdf";
    }
  }
  res.writeHead(200, { "content-type": type, "content-disposition": attachment(`${threadId}.${format}`) });
  res.end(body);
}
