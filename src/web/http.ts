/** The console's HTTP basics: the headers every response carries, JSON/text replies, a JSON body. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { WebError, WebErrorCode } from "./errors.ts";

/** The page's whole policy: its own script, style and API, nothing inline, nothing from elsewhere. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** Sent with every response, refusals included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "cross-origin-resource-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text + "\n");
}

const MAX_BODY_BYTES = 16 * 1024;

/** The request's JSON object body (empty body: `{}`); anything else is a 400/413. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new WebError(WebErrorCode.TooLarge, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WebError(WebErrorCode.BadRequest, "the request body is not JSON");
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new WebError(WebErrorCode.BadRequest, "the request body must be a JSON object");
  return value as Record<string, unknown>;
}

/** `content-disposition: attachment` with a plain ASCII file name (anything else replaced). */
export function attachment(fileName: string): string {
  const safe = fileName.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 120) || "download";
  return `attachment; filename="${safe}"`;
}
