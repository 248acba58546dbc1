/**
 * The owner's console: a small HTTP server over the same NATS backbone the CLI uses. Every request
 * passes the guard (guard.ts: Host, Origin, session, CSRF, role) before a route (routes.ts) runs;
 * every response carries the security headers and the strict CSP (http.ts).
 *
 * Listens on 127.0.0.1 unless a host is given. The Host header may name only the loopback names
 * or that host, with the console's port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { secretRedactor } from "../config/index.ts";
import type { Backbone } from "../nats/index.ts";
import { admit, type GuardConfig } from "./guard.ts";
import { SECURITY_HEADERS, sendError } from "./http.ts";
import type { PaymentDesk } from "./payment-desk.ts";
import { route } from "./routes.ts";
import { OpenStreams } from "./sse.ts";
import { Sessions, type ConsoleTokens } from "./tokens.ts";
import { WebError } from "./errors.ts";

/** The only address the console listens on unless told otherwise. */
export const LOOPBACK = "127.0.0.1";
/** The names a browser on this machine may use for the console (Host / Origin host part). */
const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"] as const;
const ANY_ADDRESS = new Set(["0.0.0.0", "::", "[::]"]);

export interface ConsoleOptions {
  backbone: Backbone;
  env: NodeJS.ProcessEnv;
  desk: PaymentDesk;
  tokens: ConsoleTokens;
  /** 0 = any free port. */
  port: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Accept the viewer token. */
  viewer: boolean;
}

export interface ConsoleServer {
  server: Server;
  /** `http://<host>:<port>`: the console's own origin. */
  origin: string;
  port: number;
  /** The URL that logs the owner in (carries the owner token: show it to the owner only). */
  ownerLoginUrl: string;
  /** The read-only login, when started with a viewer token. */
  viewerLoginUrl?: string;
  close(): Promise<void>;
}

/** `[::1]` style for IPv6 literals in Host headers and URLs. */
const hostPart = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host).toLowerCase();

export async function startConsole(opts: ConsoleOptions): Promise<ConsoleServer> {
  const streams = new OpenStreams();
  const redact = secretRedactor(opts.env);
  const closing = new AbortController();
  const listenOn = opts.host ?? LOOPBACK;
  // Set once listening (the real port when 0 was asked for); no request is served before.
  let guard: GuardConfig | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const session = admit(req, res, url, guard!);
    if (!session) return;
    await route(req, res, url, session, { backbone: opts.backbone, env: opts.env, desk: opts.desk, streams, signal: closing.signal });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.end();
      if (WebError.isInstance(e)) return sendError(res, e.status, e.message);
      // First line only, secrets of the environment and credentials in URLs taken out: an error may quote a connection string.
      const message = redact(String((e as Error)?.message ?? e).split("\n")[0]!).replace(/\/\/[^/@\s]*@/g, "//[redacted]@");
      sendError(res, 500, `the console failed: ${message}`.slice(0, 500));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, listenOn, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const names = new Set<string>(LOOPBACK_NAMES);
  if (opts.host && !ANY_ADDRESS.has(opts.host)) names.add(hostPart(opts.host));
  guard = {
    hosts: new Set([...names].map((n) => `${n}:${port}`)),
    origins: new Set([...names].map((n) => `http://${n}:${port}`)),
    cookieName: `vibewriter_console_${port}`,
    sessions: new Sessions(opts.tokens, { viewer: opts.viewer }),
  };
  const shown = opts.host && !ANY_ADDRESS.has(opts.host) ? hostPart(opts.host) : LOOPBACK;
  const origin = `http://${shown}:${port}`;
  return {
    server,
    origin,
    port,
    ownerLoginUrl: `${origin}/?token=${opts.tokens.owner}`,
    ...(opts.viewer && opts.tokens.viewer ? { viewerLoginUrl: `${origin}/?token=${opts.tokens.viewer}` } : {}),
    async close() {
      closing.abort();
      await streams.stopAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
