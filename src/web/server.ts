/**
 * The dashboard: a small HTTP server on loopback over the same NATS backbone the CLI uses.
 *   GET /                          the page
 *   GET /api/threads               listThreads()
 *   GET /api/threads/:id           showThread()  (404 for an unknown thread)
 *   GET /api/threads/:id/events    Server-Sent Events: the thread's log from the start, then live (EventLog.subscribe)
 * Read-only: approving payments stays a deliberate CLI action (`vibewriter approve`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { AgentError } from "../agent/errors.ts";
import { listThreads, showThread } from "../agent/threads.ts";
import type { Backbone } from "../nats/index.ts";
import { DASHBOARD_HTML } from "./page.ts";

const THREAD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

export interface DashboardServer {
  server: Server;
  /** `http://127.0.0.1:<port>` once listening. */
  url: string;
  close(): Promise<void>;
}

/** Starts the dashboard on 127.0.0.1:`port` (0 = any free port). */
export async function startDashboard(backbone: Backbone, port: number): Promise<DashboardServer> {
  const streams = new Set<() => void>();

  const events = async (req: IncomingMessage, res: ServerResponse, threadId: string) => {
    const sub = backbone.events.subscribe(threadId, { from: "beginning" });
    await sub.ready;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
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
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET") return sendJson(res, 405, { error: "read-only dashboard: GET only" });
    if (url.pathname === "/") {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        // The page needs nothing from elsewhere; forbid it anyway.
        "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      });
      return res.end(DASHBOARD_HTML);
    }
    if (url.pathname === "/api/threads") return sendJson(res, 200, { threads: await listThreads(backbone) });
    const m = /^\/api\/threads\/([^/]+)(\/events)?$/.exec(url.pathname);
    if (m) {
      const id = decodeURIComponent(m[1]!);
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
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    server,
    url: `http://127.0.0.1:${actual}`,
    async close() {
      for (const stop of streams) stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
