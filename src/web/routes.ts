/**
 * The console's routes, after the guard (guard.ts) has admitted the request with a session:
 *   GET  /, /assets/console.js, /assets/console.css      the page
 *   GET  /api/session                                     role, CSRF token, whether it may decide
 *   GET  /api/threads                                     threads with cost and waiting approvals
 *   GET  /api/threads/:id                                 one thread: plan, agent tree, files, payments
 *   GET  /api/threads/:id/events                          SSE of the thread's events (Last-Event-ID)
 *   GET  /api/threads/:id/report                          the report as an HTML fragment + verification
 *   GET  /api/threads/:id/sources/:sourceId               a stored source's text
 *   GET  /api/threads/:id/files/<path>[?download=1]       a stored file (text/plain or octet-stream)
 *   GET  /api/threads/:id/export?format=html|md|pdf       the report as a download
 *   GET  /api/live                                        SSE of every thread's activity
 *   GET  /api/payments?status=pending|all                 payment proposals
 *   POST /api/payments/:id/approve | /reject              the owner's decision
 *   GET  /api/ledger                                      the audit ledger and its verification
 *   GET  /api/fleet                                       the VM pool, workers and queue depth
 * The contract is /tmp/prompts/console-api.md; the shapes are in api-types.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { THREAD_ID_PATTERN } from "../config/index.ts";
import { AgentError, AgentErrorCode } from "../agent/index.ts";
import type { Backbone } from "../nats/index.ts";
import { PaymentStatus, PROPOSAL_ID } from "../wallet/index.ts";
import type { SessionView } from "./api-types.ts";
import { fleetView } from "./fleet-view.ts";
import { readJsonBody, sendJson } from "./http.ts";
import { ledgerView } from "./ledger-view.ts";
import type { PaymentDesk } from "./payment-desk.ts";
import { paymentView } from "./payment-view.ts";
import { streamLive, streamThreadEvents, type OpenStreams } from "./sse.ts";
import { STATIC_ASSETS } from "./static-assets.ts";
import { serveExport, serveReport, serveSource, serveThreadFile, threadObjectName } from "./thread-files.ts";
import { threadRows, threadView } from "./thread-view.ts";
import { Role, Sessions, type Session } from "./tokens.ts";
import { WebError, WebErrorCode } from "./errors.ts";

const SOURCE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_REASON = 500;

export interface RouteContext {
  backbone: Backbone;
  env: NodeJS.ProcessEnv;
  desk: PaymentDesk;
  streams: OpenStreams;
  /** Aborted when the console closes (ends a PDF rendering in progress). */
  signal: AbortSignal;
}

function decoded(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new WebError(WebErrorCode.BadRequest, `invalid ${what} (bad percent-encoding)`);
  }
}

function checked(segment: string, pattern: RegExp, what: string): string {
  const value = decoded(segment, what);
  if (!pattern.test(value)) throw new WebError(WebErrorCode.BadRequest, `invalid ${what} "${value.slice(0, 80)}"`);
  return value;
}

function sessionView(session: Session, desk: PaymentDesk): SessionView {
  const owner = session.role === Role.Owner;
  const canDecide = owner && desk.canDecide;
  const hint = owner ? desk.hint : "a viewer session is read-only: the owner decides payments";
  return { role: session.role, csrf: Sessions.csrfOf(session), canDecide, ...(canDecide ? {} : { decideHint: hint }) };
}

/** Answers an admitted request; a `WebError` thrown here becomes `{ error }` with its status. */
export async function route(req: IncomingMessage, res: ServerResponse, url: URL, session: Session, ctx: RouteContext): Promise<void> {
  const { backbone, desk } = ctx;
  const path = url.pathname;
  const post = req.method === "POST";

  const asset = STATIC_ASSETS.get(path);
  if (asset && !post) {
    res.writeHead(200, { "content-type": asset.type });
    res.end(asset.body);
    return;
  }
  if (!path.startsWith("/api/")) throw new WebError(WebErrorCode.NotFound, "not found");

  const parts = path.slice("/api/".length).split("/");
  const [head, second, third] = parts;
  if (post) {
    if (head === "payments" && second && (third === "approve" || third === "reject") && parts.length === 3) {
      const id = checked(second, PROPOSAL_ID, "payment id");
      const body = await readJsonBody(req);
      const reason = body.reason;
      if (reason !== undefined && (typeof reason !== "string" || reason.length > MAX_REASON)) {
        throw new WebError(WebErrorCode.BadRequest, `reason must be a string of at most ${MAX_REASON} characters`);
      }
      const outcome = await desk.decide(id, third === "approve" ? { approve: true } : { approve: false, ...(reason ? { reason } : {}) });
      return sendJson(res, 200, {
        ok: true,
        id: outcome.record.id,
        status: outcome.record.status,
        ...(outcome.thread ? { threadId: outcome.thread } : {}),
        requeued: outcome.requeued,
      });
    }
    throw new WebError(WebErrorCode.NotFound, "no such action");
  }

  if (head === "session" && parts.length === 1) return sendJson(res, 200, sessionView(session, desk));
  if (head === "live" && parts.length === 1) return streamLive(req, res, url, backbone, ctx.streams);
  if (head === "ledger" && parts.length === 1) return sendJson(res, 200, await ledgerView(backbone, ctx.env));
  if (head === "fleet" && parts.length === 1) return sendJson(res, 200, await fleetView(backbone));
  if (head === "payments" && parts.length === 1) {
    const status = url.searchParams.get("status") ?? "all";
    if (status !== "pending" && status !== "all") throw new WebError(WebErrorCode.BadRequest, "status must be pending or all");
    const records = await desk.records();
    const shown = status === "pending" ? records.filter((r) => r.status === PaymentStatus.PendingApproval) : records;
    return sendJson(res, 200, { payments: shown.map(paymentView) });
  }
  if (head === "threads") {
    if (parts.length === 1) return sendJson(res, 200, { threads: await threadRows(backbone, await desk.records()) });
    const threadId = checked(second!, THREAD_ID_PATTERN, "thread id");
    const rest = parts.slice(2);
    try {
      if (rest.length === 0) return sendJson(res, 200, await threadView(backbone, threadId, await desk.records()));
      if (rest.length === 1 && rest[0] === "events") return await streamThreadEvents(req, res, url, backbone, threadId, ctx.streams);
      if (rest.length === 1 && rest[0] === "report") return await serveReport(res, backbone, threadId);
      if (rest.length === 1 && rest[0] === "export") return await serveExport(res, backbone, threadId, url.searchParams.get("format"), ctx.signal);
      if (rest.length === 2 && rest[0] === "sources") return await serveSource(res, backbone, threadId, checked(rest[1]!, SOURCE_ID, "source id"));
      if (rest[0] === "files") {
        const name = threadObjectName(threadId, rest.slice(1).map((s) => decoded(s, "file path")));
        return await serveThreadFile(res, backbone, name, url.searchParams.get("download") === "1");
      }
    } catch (e) {
      if (AgentError.isInstance(e, AgentErrorCode.UnknownThread)) throw new WebError(WebErrorCode.NotFound, e.message);
      throw e;
    }
  }
  throw new WebError(WebErrorCode.NotFound, "not found");
}
