/**
 * `vibewriter web`: the console's start, login and guard, on a real nats-server: only a client
 * that holds the printed token and talks to 127.0.0.1, localhost or [::1] on the console's own
 * port (no DNS rebinding, no cross-origin reads); the tokens persist in the state dir (0600) and
 * `--new-token` replaces them. Requests go through node:http so the Host, Origin and Cookie
 * headers are exactly what we send. (The API itself: test/web/console.test.ts.)
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NewEvent, VibewriterEvent } from "../../src/nats/event-types.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { spawnCli, type CliChild } from "./child.ts";

const THREAD = "web-1";
let n = 0;
const ev = (type: VibewriterEvent["type"], data: Record<string, unknown>): NewEvent => ({
  id: `web:${n++}`,
  type,
  agent: "main",
  data,
}) as NewEvent;

/** `Console: http://127.0.0.1:PORT/?token=TOKEN` — 32 random bytes are 43 base64url characters. */
const PRINTED = /Console: (http:\/\/127\.0\.0\.1:(\d+))\/\?token=([A-Za-z0-9_-]{43})\s/;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Opens a request to 127.0.0.1:`port` with exactly these headers; resolves with the response head. */
function open(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers }, resolve);
    req.on("error", reject);
    req.end();
  });
}

async function call(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Reply> {
  const res = await open(port, path, headers, method);
  let body = "";
  for await (const chunk of res) body += (chunk as Buffer).toString();
  return { status: res.statusCode!, headers: res.headers, body };
}

/** A same-length token that is not the token (whatever its last character is). */
const wrongTokenFor = (token: string) => token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");

function expectSecurityHeaders(h: IncomingHttpHeaders): void {
  expect(h["content-security-policy"]).toBe(
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  );
  expect(h["x-content-type-options"]).toBe("nosniff");
  expect(h["referrer-policy"]).toBe("no-referrer");
  expect(h["x-frame-options"]).toBe("DENY");
  expect(h["cache-control"]).toBe("no-store");
}

/** Nothing of the thread (its id, its task) is in a refused reply. */
function expectNoThreadData(r: Reply): void {
  expect(r.body).not.toContain(THREAD);
  expect(r.body).not.toContain("ACME");
}

describe("vibewriter web", () => {
  let nats: TestNats;
  let state = "";
  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url, VIBEWRITER_STATE_DIR: state });
  let web: CliChild;
  let port = 0;
  let origin = "";
  let token = "";
  let cookie = ""; // "name=value" as the browser would send it back
  const publish = (e: NewEvent) => nats.backbone.events.publish(THREAD, e);
  const get = (path: string, headers: Record<string, string> = {}) => call(port, path, headers);

  beforeAll(async () => {
    nats = await startTestNats();
    state = await mkdtemp(join(tmpdir(), "vw-web-"));
    await publish(ev("run.started", { task: "Assess <b>ACME</b>" }));
    await publish(ev("run.finished", { status: "completed" }));
    web = spawnCli(["web", "--port", "0"], env());
    await web.waitForOutput(/Payments: .*\n/); // the last line of its start
    const m = PRINTED.exec(web.stdout())!;
    origin = m[1]!;
    port = Number(m[2]);
    token = m[3]!;
  });
  afterAll(async () => {
    if (web && web.child.exitCode === null) web.child.kill("SIGKILL");
    await nats?.close();
    await rm(state, { recursive: true, force: true });
  });

  it("prints the URL with its token once, and nothing else carries the token; the token is kept 0600", async () => {
    expect(web.stdout().split(token)).toHaveLength(2);
    expect(web.stderr()).not.toContain(token);
    expect(web.stdout()).toMatch(/Payments: read-only \(set VIBEWRITER_OWNER_PASSPHRASE before `vibewriter web`/);
    expect((await stat(join(state, "web", "tokens.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(state, "web"))).mode & 0o777).toBe(0o700);
  });

  it("without a token: 401 everywhere, with no thread data", async () => {
    for (const path of ["/", "/api/threads", `/api/threads/${THREAD}`, `/api/threads/${THREAD}/events`, "/nothing-here"]) {
      const r = await get(path);
      expect(r.status, path).toBe(401);
      expect(r.headers["set-cookie"], path).toBeUndefined();
      expectNoThreadData(r);
      expectSecurityHeaders(r.headers);
    }
  });

  it("a wrong token (same length, other length, in the query, a cookie or a bearer header): 401", async () => {
    const wrong = wrongTokenFor(token);
    const cookieName = `vibewriter_console_${port}`;
    const attempts: [string, Record<string, string>][] = [
      [`/?token=${wrong}`, {}],
      [`/?token=${token}x`, {}],
      ["/?token=", {}],
      ["/", { cookie: `${cookieName}=${wrong}` }],
      ["/api/threads", { cookie: `${cookieName}=${wrong}` }],
      ["/api/threads", { cookie: `vibewriter_console_1=${token}` }], // right value, another console's name
      ["/api/threads", { authorization: `Bearer ${wrong}` }],
      ["/api/threads", { authorization: `Basic ${token}` }],
      [`/api/threads?token=${token}`, {}], // the query is only a login for the page, never for the API
    ];
    for (const [path, headers] of attempts) {
      const r = await get(path, headers);
      expect(r.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
      expect(r.headers["set-cookie"]).toBeUndefined();
      expectNoThreadData(r);
    }
  });

  it("logs in with the token: 303 to / with an HttpOnly SameSite=Strict cookie, then serves the page", async () => {
    const login = await get(`/?token=${token}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe("/"); // the token leaves the address bar and history
    expectSecurityHeaders(login.headers);
    const setCookie = login.headers["set-cookie"]!;
    expect(setCookie).toHaveLength(1);
    const parts = setCookie[0]!.split(";").map((p) => p.trim());
    expect(parts[0]).toBe(`vibewriter_console_${port}=${token}`);
    expect(parts.slice(1).sort()).toEqual(["HttpOnly", "Path=/", "SameSite=Strict"]);
    cookie = parts[0]!;

    const page = await get("/", { cookie: `other=1; ${cookie}` });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expectSecurityHeaders(page.headers);
    expect(page.body).toMatch(/<title>[^<]*Vibewriter[^<]*<\/title>/);
    expect(page.body).not.toContain(token);
  });

  it("lists threads and shows one with the cookie or a bearer token; unknown → 404, bad id → 400, other methods → 405", async () => {
    for (const auth of [{ cookie }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
      const list = await get("/api/threads", auth);
      expect(list.status).toBe(200);
      expectSecurityHeaders(list.headers);
      expect((JSON.parse(list.body) as { threads: unknown[] }).threads).toEqual([
        expect.objectContaining({ threadId: THREAD, status: "completed", task: "Assess <b>ACME</b>" }),
      ]);
      const one = await get(`/api/threads/${THREAD}`, auth);
      expect(one.status).toBe(200);
      expect(JSON.parse(one.body)).toMatchObject({ threadId: THREAD, status: "completed", events: 2 });
      expect((await get("/api/threads/nobody", auth)).status).toBe(404);
      expect((await get("/api/threads/..%2Fetc", auth)).status).toBe(400);
      expect((await get("/api/threads/%E0%A4%A", auth)).status).toBe(400);
      for (const method of ["PUT", "DELETE", "PATCH"]) {
        const r = await call(port, "/api/threads", auth, method);
        expect(r.status, method).toBe(405);
        expectSecurityHeaders(r.headers);
      }
    }
  });

  it("streams a thread's events from the start, then live, to the cookie holder", async () => {
    const res = await open(port, `/api/threads/${THREAD}/events`, { cookie, accept: "text/event-stream" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expectSecurityHeaders(res.headers);
    let text = "";
    const chunks = res[Symbol.asyncIterator]();
    const until = async (s: string) => {
      while (!text.includes(s)) {
        const { value, done } = await chunks.next();
        if (done) throw new Error(`stream ended before "${s}": ${text}`);
        text += (value as Buffer).toString();
      }
    };
    await until('"run.finished"');
    expect(text.indexOf('"run.started"')).toBeLessThan(text.indexOf('"run.finished"'));
    await publish(ev("warning", { message: "live via SSE" }));
    await until("live via SSE");
    res.destroy();
  });

  it("refuses a foreign Host (DNS rebinding) even with the right token; accepts the loopback names on its port", async () => {
    const refusedHosts = [`evil.example:${port}`, "evil.example", `127.0.0.1:${port + 1}`, "127.0.0.1", `localhost.evil.example:${port}`, `127.0.0.2:${port}`];
    for (const host of refusedHosts) {
      for (const [path, headers] of [
        [`/?token=${token}`, {}],
        ["/", { cookie }],
        ["/api/threads", { cookie }],
        ["/api/threads", { authorization: `Bearer ${token}` }],
        [`/api/threads/${THREAD}/events`, { cookie }],
      ] as [string, Record<string, string>][]) {
        const r = await get(path, { ...headers, host });
        expect(r.status, `${host} ${path}`).toBe(421);
        expect(r.headers["set-cookie"]).toBeUndefined();
        expectNoThreadData(r);
        expectSecurityHeaders(r.headers);
      }
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect((await get("/api/threads", { cookie, host })).status, host).toBe(200);
    }
  });

  it("refuses a foreign Origin even with the right token; accepts its own", async () => {
    for (const bad of ["http://evil.example", `http://evil.example:${port}`, `http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`, "null"]) {
      for (const path of [`/?token=${token}`, "/", "/api/threads", `/api/threads/${THREAD}/events`]) {
        const r = await get(path, { cookie, origin: bad });
        expect(r.status, `${bad} ${path}`).toBe(403);
        expect(r.headers["set-cookie"]).toBeUndefined();
        expectNoThreadData(r);
        expectSecurityHeaders(r.headers);
      }
    }
    // A browser that says the request comes from another site (another port is the same site).
    for (const site of ["same-site", "cross-site"]) {
      const r = await get("/api/threads", { cookie, "sec-fetch-site": site });
      expect(r.status, site).toBe(403);
      expectNoThreadData(r);
    }
    for (const own of [origin, `http://localhost:${port}`, `http://[::1]:${port}`]) {
      expect((await get("/api/threads", { cookie, origin: own, "sec-fetch-site": "same-origin" })).status, own).toBe(200);
    }
  });

  it("--json gives { ok, url }: the same token on the same state dir; --new-token replaces it and the old one stops working", async () => {
    const startJson = async (extra: string[]) => {
      const other = spawnCli(["web", "--port", "0", "--json", ...extra], env());
      await other.waitForOutput(/\}\n$/);
      const out = JSON.parse(other.stdout()) as { ok: boolean; url: string; canDecide: boolean };
      const m = /^http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]{43})$/.exec(out.url);
      expect(m, out.url).not.toBeNull();
      return { other, out, port: Number(m![1]), token: m![2]! };
    };
    const same = await startJson([]);
    try {
      expect(same.out).toMatchObject({ ok: true, canDecide: false });
      expect(same.token).toBe(token);
      expect((await call(same.port, "/api/threads", { authorization: `Bearer ${token}` })).status).toBe(200);
      same.other.child.kill("SIGINT");
      expect((await same.other.exited).code).toBe(0);
    } finally {
      if (same.other.child.exitCode === null) same.other.child.kill("SIGKILL");
    }
    const rotated = await startJson(["--new-token"]);
    try {
      expect(rotated.token).not.toBe(token);
      expect((await call(rotated.port, "/api/threads", { authorization: `Bearer ${rotated.token}` })).status).toBe(200);
      expect((await call(rotated.port, "/api/threads", { authorization: `Bearer ${token}` })).status).toBe(401);
      rotated.other.child.kill("SIGINT");
      expect((await rotated.other.exited).code).toBe(0);
    } finally {
      if (rotated.other.child.exitCode === null) rotated.other.child.kill("SIGKILL");
    }
  });

  it("--host names another address: it listens there and accepts it as Host, still nothing else", async () => {
    const other = spawnCli(["web", "--port", "0", "--host", "localhost"], env());
    try {
      await other.waitForOutput(/Payments: .*\n/);
      const m = /^Console: http:\/\/localhost:(\d+)\/\?token=([A-Za-z0-9_-]{43}) /.exec(other.stdout());
      expect(m, other.stdout()).not.toBeNull();
      const [otherPort, otherToken] = [Number(m![1]), m![2]!];
      const auth = { authorization: `Bearer ${otherToken}` };
      expect((await call(otherPort, "/api/threads", { ...auth, host: `localhost:${otherPort}` })).status).toBe(200);
      expect((await call(otherPort, "/api/threads", { ...auth, host: `evil.example:${otherPort}` })).status).toBe(421);
      other.child.kill("SIGINT");
      expect((await other.exited).code).toBe(0);
    } finally {
      if (other.child.exitCode === null) other.child.kill("SIGKILL");
    }
  });

  it("stops on Ctrl-C with exit 0", async () => {
    web.child.kill("SIGINT");
    expect((await web.exited).code).toBe(0);
  });
});
