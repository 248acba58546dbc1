/**
 * Who may do what, checked on every request before any route runs. Loopback is not a wall (every
 * local user and every page in the owner's browser can reach 127.0.0.1), so, in this order:
 *   1. Host is a name the console listens on (loopback names, or the --host given) with its port,
 *      else 421: a DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own name.
 *   2. Origin, when sent, is the console's own origin, else 403; a browser request that says it
 *      comes from another site (Sec-Fetch-Site same-site or cross-site) is refused on /api and on
 *      every POST.
 *   3. GET and POST only, else 405.
 *   4. The login `GET /?token=T` turns a token into an HttpOnly SameSite=Strict cookie (303 to /).
 *   5. A session: the cookie or `Authorization: Bearer T`, else 401.
 *   6. A POST: `content-type: application/json` (else 415: a form cannot send it cross-site
 *      without a preflight), `X-CSRF-Token` matching the session (else 403), and the owner's
 *      session (a viewer: 403).
 * A refusal says what is wrong and nothing about threads or payments.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendError, sendText } from "./http.ts";
import { Role, Sessions, type Session } from "./tokens.ts";

export interface GuardConfig {
  /** `name:port` values the Host header may carry (lower case). */
  hosts: ReadonlySet<string>;
  /** `http://name:port` values the Origin header may carry (lower case). */
  origins: ReadonlySet<string>;
  /** Cookies ignore ports: one name per port keeps two consoles from overwriting each other's. */
  cookieName: string;
  sessions: Sessions;
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
  return /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
}

function sessionOf(req: IncomingMessage, cfg: GuardConfig): Session | undefined {
  const fromBearer = cfg.sessions.open(bearer(req));
  if (fromBearer) return fromBearer;
  for (const v of cookieValues(req, cfg.cookieName)) {
    const s = cfg.sessions.open(v);
    if (s) return s;
  }
  return undefined;
}

/**
 * Checks the request; returns its session when it may go on to a route, or undefined when this
 * function has already answered (a refusal or the login redirect).
 */
export function admit(req: IncomingMessage, res: ServerResponse, url: URL, cfg: GuardConfig): Session | undefined {
  if (!cfg.hosts.has((req.headers.host ?? "").toLowerCase())) {
    sendText(res, 421, "misdirected request: this console answers only to the names it listens on, with its own port");
    return undefined;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !cfg.origins.has(origin.toLowerCase())) {
    sendText(res, 403, "forbidden: cross-origin request");
    return undefined;
  }
  const site = req.headers["sec-fetch-site"];
  const foreignSite = site !== undefined && site !== "same-origin" && site !== "none";
  if (foreignSite && (url.pathname.startsWith("/api/") || req.method === "POST")) {
    sendText(res, 403, "forbidden: cross-site request");
    return undefined;
  }
  if (req.method !== "GET" && req.method !== "POST") {
    res.setHeader("allow", "GET, POST");
    sendError(res, 405, "GET and POST only");
    return undefined;
  }
  if (req.method === "GET" && url.pathname === "/" && url.searchParams.has("token")) {
    const session = cfg.sessions.open(url.searchParams.get("token") ?? undefined);
    if (!session) {
      sendText(res, 401, "unauthorized: wrong or stale token; open the URL printed by `vibewriter web`");
      return undefined;
    }
    // The token moves into a cookie the page's script cannot read; the URL (and history) lose it.
    res.writeHead(303, { location: "/", "set-cookie": `${cfg.cookieName}=${session.token}; HttpOnly; SameSite=Strict; Path=/` });
    res.end();
    return undefined;
  }
  const session = sessionOf(req, cfg);
  if (!session) {
    sendText(res, 401, "unauthorized: open the URL printed by `vibewriter web` (it carries the access token)");
    return undefined;
  }
  if (req.method === "POST") {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      sendError(res, 415, "an action needs content-type: application/json");
      return undefined;
    }
    const csrf = req.headers["x-csrf-token"];
    if (!Sessions.csrfMatches(session, typeof csrf === "string" ? csrf : undefined)) {
      sendError(res, 403, "missing or wrong X-CSRF-Token: reload the console (GET /api/session gives the token)");
      return undefined;
    }
    if (session.role !== Role.Owner) {
      sendError(res, 403, "a viewer session is read-only");
      return undefined;
    }
  }
  return session;
}
