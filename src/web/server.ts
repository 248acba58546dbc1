/**
 * The dashboard: a small HTTP server on loopback over the same NATS backbone the CLI uses.
 *   GET /?token=T                  the login: sets the session cookie, 303 to `/` (the token leaves the URL)
 *   GET /                          the page
 *   GET /api/threads               listThreads()
 *   GET /api/threads/:id           showThread()  (404 for an unknown thread)
 *   GET /api/threads/:id/events    Server-Sent Events: the thread's log from the start, then live (EventLog.subscribe)
 * Read-only: approving payments stays a deliberate CLI action (`vibewriter approve`).
 *
 * Who may read it. Loopback is not a wall (every local user and every page in the owner's browser
 * can reach 127.0.0.1), so each request passes, in this order:
 *   1. Host is exactly 127.0.0.1 / localhost / [::1] with the port we listen on, else 421: a
 *      DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own name and is refused.
 *   2. Origin, when sent, is the dashboard's own origin, else 403; a browser request from anywhere
 *      else that says it is same-site or cross-site (Sec-Fetch-Site) is refused on /api too.
 *   3. GET only, else 405.
 *   4. The access token, random per start and printed once by `vibewriter web`: in the query on the
 *      first load of `/`, then in an HttpOnly SameSite=Strict cookie, or as `Authorization: Bearer`.
 *      Anything else gets 401 and nothing about threads.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { AgentError } from "../agent/errors.ts";
import { listThreads, showThread } from "../agent/threads.ts";
import type { Backbone } from "../nats/index.ts";
import { DASHBOARD_HTML } from "./page.ts";

const THREAD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** The only address the dashboard listens on. */
const LOOPBACK = "127.0.0.1";
/** The names a browser on this machine may use for the dashboard (Host / Origin host part). */
const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"] as const;

/** Sent with every response, refusals included. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // The page needs nothing from elsewhere: inline script and style, and fetch/EventSource to itself.
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "cross-origin-resource-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text + "\n");
}

/** Constant-time comparison of a presented token with the real one (its length is not a secret). */
function tokenMatches(presented: string | undefined, token: Buffer): boolean {
  if (presented === undefined) return false;
  const given = Buffer.from(presented, "utf8");
  return given.length === token.length && timingSafeEqual(given, token);
}

/** Every value of cookie `name` in the request (a browser may send several). */
function cookieValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return m?.[1];
}

export interface DashboardServer {
  server: Server;
  /** `http://127.0.0.1:<port>` once listening: the dashboard's own origin. */
  origin: string;
  /** The access token of this start (32 random bytes, base64url). */
  token: string;
  /** `http://127.0.0.1:<port>/?token=<token>`: the URL to open (prints a secret — show it to the owner only). */
  loginUrl: string;
  close(): Promise<void>;
}

/** Starts the dashboard on 127.0.0.1:`port` (0 = any free port) with a fresh access token. */
export async function startDashboard(backbone: Backbone, port: number): Promise<DashboardServer> {
  const streams = new Set<() => void>();
  const tokenText = randomBytes(32).toString("base64url");
  const token = Buffer.from(tokenText, "utf8");
  // Set once listening (the real port when 0 was asked for); no request is served before.
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();
  let cookieName = "";

  const authorized = (req: IncomingMessage) =>
    tokenMatches(bearer(req), token) || cookieValues(req, cookieName).some((v) => tokenMatches(v, token));

  const events = async (req: IncomingMessage, res: ServerResponse, threadId: string) => {
    const sub = backbone.events.subscribe(threadId, { from: "beginning" });
    await sub.ready;
    res.writeHead(200, { "content-type": "text/event-stream", connection: "keep-alive" });
    res.write(": vibewriter events\n\n");
    const stop = () => sub.stop();
    streams.add(stop);
    req.on("close", stop);
    try {
      for await (const e of sub) res.write(`data: ${JSON.stringify(e)}\n\n`);
    } finally {
      streams.delete(stop);
      res.end();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!allowedHosts.has((req.headers.host ?? "").toLowerCase())) {
      return sendText(res, 421, "misdirected request: this dashboard answers only to 127.0.0.1, localhost or [::1] on its own port");
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase())) {
      return sendText(res, 403, "forbidden: cross-origin request");
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const fetchSite = req.headers["sec-fetch-site"];
    if (url.pathname.startsWith("/api/") && fetchSite !== undefined && fetchSite !== "same-origin" && fetchSite !== "none") {
      return sendText(res, 403, "forbidden: cross-origin request");
    }
    if (req.method !== "GET") return sendJson(res, 405, { error: "read-only dashboard: GET only" });

    if (url.pathname === "/" && url.searchParams.has("token")) {
      if (!tokenMatches(url.searchParams.get("token") ?? undefined, token)) {
        return sendText(res, 401, "unauthorized: wrong or stale token; open the URL printed by `vibewriter web`");
      }
      // The token moves into a cookie the page's script cannot read; the URL (and history) lose it.
      res.writeHead(303, { location: "/", "set-cookie": `${cookieName}=${tokenText}; HttpOnly; SameSite=Strict; Path=/` });
      return res.end();
    }
    if (!authorized(req)) {
      return sendText(res, 401, "unauthorized: open the URL printed by `vibewriter web` (it carries the access token)");
    }

    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(DASHBOARD_HTML);
    }
    if (url.pathname === "/api/threads") return sendJson(res, 200, { threads: await listThreads(backbone) });
    const m = /^\/api\/threads\/([^/]+)(\/events)?$/.exec(url.pathname);
    if (m) {
      let id: string;
      try {
        id = decodeURIComponent(m[1]!);
      } catch {
        return sendJson(res, 400, { error: "invalid thread id (bad percent-encoding)" });
      }
      if (!THREAD_ID.test(id)) return sendJson(res, 400, { error: `invalid thread id "${id.slice(0, 80)}"` });
      if (m[2]) return events(req, res, id);
      try {
        return sendJson(res, 200, await showThread(backbone, id));
      } catch (e) {
        if (AgentError.isInstance(e, "UNKNOWN_THREAD")) return sendJson(res, 404, { error: e.message });
        throw e;
      }
    }
    sendJson(res, 404, { error: "not found" });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: e.message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOOPBACK, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  allowedHosts = new Set(LOOPBACK_NAMES.map((name) => `${name}:${actual}`));
  allowedOrigins = new Set(LOOPBACK_NAMES.map((name) => `http://${name}:${actual}`));
  // Cookies ignore ports: one name per port keeps two dashboards from overwriting each other's.
  cookieName = `vibewriter_dashboard_${actual}`;
  const origin = `http://${LOOPBACK}:${actual}`;
  return {
    server,
    origin,
    token: tokenText,
    loginUrl: `${origin}/?token=${tokenText}`,
    async close() {
      for (const stop of streams) stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
