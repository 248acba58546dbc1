/**
 * The owner's console over HTTP (`vibewriter web` as a real process, a real nats-server, a real
 * wallet): every API route on a thread built from real events, the owner's decisions signed and
 * recorded in the ledger, the refusals (session, CSRF, content type, viewer, a console without the
 * owner's key), no secret in any JSON body, file serving, and SSE resuming after Last-Event-ID
 * across a console restart.
 */
import { RunQueue } from "../../src/nats/run-queue.ts";
import { startRunService, type WorkerStats } from "../../src/app/run-service.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../cli/capture.ts";
import { call, open, OTHER_SECRET, OTHER_THREAD, PASSPHRASE, QUOTE, sseReader, SOURCE_TEXT, THREAD, makeWorld, type Reply, type RunningConsole, type World } from "./console-world.ts";

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

describe("the owner's console (vibewriter web)", () => {
  let world: World;
  let web: RunningConsole;
  let owner: Record<string, string>; // the owner's cookie
  let viewer: Record<string, string>; // the viewer's bearer token
  let csrf = "";
  /** Every JSON body any test received, checked for secrets at the end. */
  const bodies: string[] = [];

  const get = async (path: string, auth: Record<string, string> = owner): Promise<Reply> => {
    const r = await call(web.port, path, auth);
    if ((r.headers["content-type"] ?? "").startsWith("application/json")) bodies.push(r.body);
    return r;
  };
  const json = async <T = Record<string, unknown>>(path: string, auth: Record<string, string> = owner): Promise<T> => {
    const r = await get(path, auth);
    expect(r.status, `${path}: ${r.body}`).toBe(200);
    expect(r.headers["content-security-policy"]).toBe(CSP);
    return JSON.parse(r.body) as T;
  };
  const post = async (path: string, body: unknown, headers: Record<string, string>): Promise<Reply> => {
    const r = await call(web.port, path, headers, "POST", JSON.stringify(body));
    bodies.push(r.body);
    return r;
  };
  const action = { "content-type": "application/json" };

  beforeAll(async () => {
    world = await makeWorld();
    await world.propose("p-approve", "30");
    await world.propose("p-reject", "25");
    await world.propose("p-small", "5"); // under 20: allowed by the policy, never waits
    web = await world.startConsole(["--viewer"], { VIBEWRITER_OWNER_PASSPHRASE: PASSPHRASE });
    const login = await call(web.port, `/?token=${web.ownerToken}`);
    expect(login.status).toBe(303);
    owner = { cookie: login.headers["set-cookie"]![0]!.split(";")[0]! };
    viewer = { authorization: `Bearer ${web.viewerToken}` };
    csrf = (await json<{ csrf: string }>("/api/session")).csrf;
  }, 60_000);
  afterAll(async () => {
    await world?.close();
  });

  it("serves the page shell and its assets, with the strict CSP and no inline script or style", async () => {
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toBe(CSP);
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i); // only <script src=…>
    expect(page.body).not.toMatch(/<style|\sstyle=/i);
    expect(page.body).not.toContain(web.ownerToken);
    const js = await get("/assets/console.js");
    expect([js.status, js.headers["content-type"]]).toEqual([200, "text/javascript; charset=utf-8"]);
    const css = await get("/assets/console.css");
    expect([css.status, css.headers["content-type"]]).toEqual([200, "text/css; charset=utf-8"]);
  });

  it("/api/session: the owner's session can decide, the viewer's cannot; each has its own CSRF token", async () => {
    const own = await json<{ role: string; csrf: string; canDecide: boolean }>("/api/session");
    expect(own).toEqual({ role: "owner", csrf: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), canDecide: true });
    const view = await json<{ role: string; csrf: string; canDecide: boolean; decideHint: string }>("/api/session", viewer);
    expect(view).toMatchObject({ role: "viewer", canDecide: false, decideHint: expect.stringMatching(/read-only/) });
    expect(view.csrf).not.toBe(own.csrf);
  });

  it("/api/threads: status, task, cost so far and waiting approvals", async () => {
    const { threads } = await json<{ threads: Record<string, unknown>[] }>("/api/threads");
    expect(threads.find((t) => t.threadId === THREAD)).toMatchObject({
      threadId: THREAD,
      status: "completed",
      task: "Assess Northwind",
      hasReport: true,
      cost: { modelCalls: 2, inputTokens: 150, outputTokens: 30, paid: [] },
      waitingApprovals: 2,
    });
  });

  it("/api/threads/:id: plan, agent tree with tool calls, stored files, payments; unknown → 404, bad id → 400", async () => {
    const t = await json<Record<string, unknown>>(`/api/threads/${THREAD}`);
    expect(t).toMatchObject({ threadId: THREAD, status: "completed", hasReport: true, files: ["/workspace/notes.md"] });
    expect(t.agents).toEqual([
      {
        name: "main",
        status: "ok",
        tools: [
          { callId: "c1", tool: "write_todos", args: expect.stringContaining("Research"), status: "ok", output: "Updated todo list" },
          { callId: "c2", tool: "task", args: expect.stringContaining("researcher"), status: "ok", output: "revenue found" },
        ],
        children: [
          {
            name: "researcher",
            callId: "c2",
            status: "ok",
            description: "find revenue",
            tools: [{ callId: "r1", tool: "read_file", args: expect.stringContaining("/workspace/sources/x.txt"), status: "error", output: "Error: no such file" }],
            children: [],
          },
        ],
      },
    ]);
    expect((t.artifacts as { path: string }[]).map((a) => a.path)).toEqual(["report.md", "sources.json", "workspace/chart.png", "workspace/notes.md"]);
    expect(t.artifacts).toContainEqual({ path: "workspace/chart.png", bytes: 8, artifact: `threads/${THREAD}/workspace/chart.png` });
    expect((t.payments as { id: string }[]).map((p) => p.id).sort()).toEqual(["p-approve", "p-reject", "p-small"]);
    expect((await get("/api/threads/nobody")).status).toBe(404);
    expect((await get("/api/threads/..%2Fetc")).status).toBe(400);
    expect((await get("/api/threads/%E0%A4%A")).status).toBe(400);
  });

  it("/api/payments: pending ones with the policy's reason; all with ?status=all", async () => {
    const { payments } = await json<{ payments: Record<string, unknown>[] }>("/api/payments?status=pending");
    expect(payments.map((p) => p.id).sort()).toEqual(["p-approve", "p-reject"]);
    expect(payments.find((p) => p.id === "p-approve")).toEqual({
      id: "p-approve",
      threadId: THREAD,
      status: "pending_approval",
      amount: "30",
      asset: "XLM",
      destination: world.destination,
      reason: expect.stringMatching(/approval/i),
      purpose: "dataset licence",
      requestedAt: expect.any(String),
    });
    const all = await json<{ payments: { id: string; status: string }[] }>("/api/payments?status=all");
    expect(all.payments.find((p) => p.id === "p-small")?.status).toBe("approved");
    expect((await get("/api/payments?status=some")).status).toBe(400);
  });

  it("/api/threads/:id/report: the report as a fragment with numbered footnotes linking to the source view", async () => {
    const r = await json<{ html: string; verification: { citations: number; verified: number; summary: string } }>(`/api/threads/${THREAD}/report`);
    expect(r.verification).toEqual({ citations: 1, verified: 1, summary: expect.stringContaining("1 verified") });
    expect(r.html).toMatch(/^<article/);
    expect(r.html).toContain(`href="#fn-1"`);
    expect(r.html).toContain(`#/thread/${THREAD}/source/`);
    expect(r.html).toContain(`?quote=${encodeURIComponent(QUOTE)}`);
    expect(r.html).not.toMatch(/<script|\sstyle=/i);
    // A thread without a report: 404.
    await world.publish({ type: EventType.RunStarted, data: { task: "nothing yet" } }, OTHER_THREAD);
    expect((await get(`/api/threads/${OTHER_THREAD}/report`)).status).toBe(404);
  });

  it("/api/threads/:id/sources/:sourceId: the stored text of a source of this thread only", async () => {
    const t = await json<{ artifacts: { path: string }[] }>(`/api/threads/${THREAD}`);
    const report = await json<{ html: string }>(`/api/threads/${THREAD}/report`);
    const sourceId = /source\/([0-9a-f]{12})/.exec(report.html)![1]!;
    expect(t.artifacts.length).toBeGreaterThan(0);
    expect(await json(`/api/threads/${THREAD}/sources/${sourceId}`)).toEqual({ id: sourceId, origin: "northwind.txt", text: SOURCE_TEXT });
    expect((await get(`/api/threads/${OTHER_THREAD}/sources/${sourceId}`)).status).toBe(404);
    expect((await get(`/api/threads/${THREAD}/sources/..%2Fx`)).status).toBe(400);
  });

  it("files: text as text/plain, binary as octet-stream, never as HTML; download as an attachment; traversal refused", async () => {
    const notes = await get(`/api/threads/${THREAD}/files/workspace/notes.md`);
    expect(notes.status).toBe(200);
    expect(notes.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(notes.body).toContain("<script>alert(1)</script>"); // served as text: shown, never run
    expect(notes.headers["content-disposition"]).toBeUndefined();
    const chart = await get(`/api/threads/${THREAD}/files/workspace/chart.png?download=1`);
    expect(chart.headers["content-type"]).toBe("application/octet-stream");
    expect(chart.headers["content-disposition"]).toBe('attachment; filename="chart.png"');
    expect([...chart.raw]).toEqual([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0xff]);
    expect((await get(`/api/threads/${THREAD}/files/workspace/missing.txt`)).status).toBe(404);
    for (const path of [
      `/api/threads/${THREAD}/files/..%2F${OTHER_THREAD}%2Fworkspace%2Fsecret.txt`,
      `/api/threads/${THREAD}/files/%2E%2E/${OTHER_THREAD}/workspace/secret.txt`,
      `/api/threads/${THREAD}/files/../../${OTHER_THREAD}/workspace/secret.txt`,
      `/api/threads/${THREAD}/files/workspace/..%5C..%5C${OTHER_THREAD}%5Cworkspace%5Csecret.txt`,
      `/api/threads/${THREAD}/files/workspace//notes.md`,
      `/api/threads/${THREAD}/files/`,
    ]) {
      const r = await get(path);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.status, path).toBeLessThan(500);
      expect(r.body, path).not.toContain(OTHER_SECRET);
    }
  });

  it("exports: md, html (an attachment, never rendered) and pdf", async () => {
    const md = await get(`/api/threads/${THREAD}/export?format=md`);
    expect(md.status).toBe(200);
    expect(md.headers["content-disposition"]).toBe(`attachment; filename="${THREAD}.md"`);
    expect(md.body).toContain(`[^1]`);
    expect(md.body).toContain(QUOTE);
    const html = await get(`/api/threads/${THREAD}/export?format=html`);
    expect(html.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(html.headers["content-disposition"]).toBe(`attachment; filename="${THREAD}.html"`);
    expect(html.body).toMatch(/^<!doctype html>/i);
    const pdf = await get(`/api/threads/${THREAD}/export?format=pdf`);
    expect(pdf.headers["content-type"]).toBe("application/pdf");
    expect(pdf.raw.subarray(0, 5).toString()).toBe("%PDF-");
    expect((await get(`/api/threads/${THREAD}/export?format=docx`)).status).toBe(400);
  }, 60_000);

  it("/api/ledger: the verification and the newest entries first", async () => {
    const l = await json<{ verification: { ok: boolean; entries: number }; entries: { seq: number; kind: string; summary: string }[]; truncated: boolean }>("/api/ledger");
    expect(l.verification).toEqual({ ok: true, entries: l.entries.length });
    expect(l.truncated).toBe(false);
    const seqs = l.entries.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(l.entries.some((e) => e.kind === "proposal" && e.summary.includes("p-approve"))).toBe(true);
  });

  it("/api/fleet: no worker answers, and the queue is not created yet", async () => {
    expect(await json("/api/fleet")).toEqual({ workers: [] });
  });

  it("/api/fleet: each worker's runs in flight, concurrency and takeovers, the VM pool summed, the queue's depth", async () => {
    const queue = await RunQueue.open(world.nats.backbone);
    const stats: WorkerStats = {
      workerId: "w-1",
      host: "host-a",
      pid: 7,
      concurrency: 3,
      inFlight: ["a", "b"],
      finished: 4,
      failed: 0,
      takeovers: 1,
      vms: 3,
      pool: { inUse: 2, restoring: 1, spare: 2, restored: 5, failed: 0 },
    };
    const service = await startRunService(world.nats.backbone, { queue, artifacts: world.nats.backbone.artifacts, worker: () => stats });
    try {
      expect(await json("/api/fleet")).toEqual({
        pool: { ready: 2, starting: 1 },
        workers: [{ id: "w-1", host: "host-a", runsInFlight: 2, concurrency: 3, takeovers: 1 }],
        queueDepth: 0,
      });
    } finally {
      await service.stop();
    }
  });

  it("refuses actions without the session's CSRF token, with a form content type, from a viewer, or cross-site: nothing decided", async () => {
    const path = "/api/payments/p-approve/approve";
    const attempts: [string, Record<string, string>, number][] = [
      ["no CSRF header", { ...owner, ...action }, 403],
      ["a wrong CSRF token", { ...owner, ...action, "x-csrf-token": csrf.slice(0, -1) + (csrf.endsWith("A") ? "B" : "A") }, 403],
      ["a made-up CSRF token", { ...owner, ...action, "x-csrf-token": "x".repeat(43) }, 403],
      ["a form", { ...owner, "content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf }, 415],
      ["text/plain", { ...owner, "content-type": "text/plain", "x-csrf-token": csrf }, 415],
      ["no session", { ...action, "x-csrf-token": csrf }, 401],
      ["cross-site", { ...owner, ...action, "x-csrf-token": csrf, "sec-fetch-site": "cross-site" }, 403],
      ["a foreign origin", { ...owner, ...action, "x-csrf-token": csrf, origin: "http://evil.example" }, 403],
    ];
    for (const [what, headers, status] of attempts) {
      const r = await post(path, {}, headers);
      expect(r.status, what).toBe(status);
      expect(r.body, what).not.toContain(THREAD);
      expect(r.body, what).not.toContain(world.destination);
    }
    const viewerCsrf = (await json<{ csrf: string }>("/api/session", viewer)).csrf;
    const byViewer = await post(path, {}, { ...viewer, ...action, "x-csrf-token": viewerCsrf });
    expect(byViewer.status).toBe(403);
    expect(JSON.parse(byViewer.body)).toEqual({ error: "a viewer session is read-only" });
    expect((await world.wallet.get("p-approve"))?.status).toBe("pending_approval");
  });

  it("approves from the API: the payment is approved, the ledger holds the owner-signed approval and verifies", async () => {
    const r = await post("/api/payments/p-approve/approve", {}, { ...owner, ...action, "x-csrf-token": csrf });
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, id: "p-approve", status: "approved", threadId: THREAD, requeued: false });
    expect((await world.wallet.get("p-approve"))?.status).toBe("approved");
    const entries = await world.wallet.ledger.entries({ proposalId: "p-approve" });
    const ownerKey = (await import("../../src/app/trust.ts")).loadTrust({ VIBEWRITER_STATE_DIR: world.state });
    expect(entries.at(-1)).toMatchObject({ type: "approval", by: (await ownerKey).ownerPublicKey, data: { by: "console:owner" } });
    const verify = captureIo(world.env());
    expect(await main(["ledger", "verify", "--json"], verify)).toBe(0);
    expect(JSON.parse(verify.out())).toMatchObject({ ok: true });
    // Decided once: again is a conflict that lists what still waits.
    const again = await post("/api/payments/p-approve/approve", {}, { ...owner, ...action, "x-csrf-token": csrf });
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body).error).toMatch(/Waiting for approval: p-reject/);
    expect((await post("/api/payments/p-nope/approve", {}, { ...owner, ...action, "x-csrf-token": csrf })).status).toBe(404);
  });

  it("rejects with a reason; a thread that ran from the queue is queued again", async () => {
    const queue = await RunQueue.open(world.nats.backbone);
    await world.publish({ type: EventType.RunQueued, data: { kind: "run", task: "queued task", by: "submit" } });
    const r = await post("/api/payments/p-reject/reject", { reason: "not this month" }, { ...owner, ...action, "x-csrf-token": csrf });
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, id: "p-reject", status: "rejected", threadId: THREAD, requeued: true });
    expect((await world.wallet.ledger.entries({ proposalId: "p-reject" })).at(-1)).toMatchObject({ type: "rejection", data: { note: "not this month" } });
    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request).toMatchObject({ kind: "resume", threadId: THREAD });
    await got!.ack();
    const bad = await post("/api/payments/p-reject/reject", { reason: 42 }, { ...owner, ...action, "x-csrf-token": csrf });
    expect(bad.status).toBe(400);
  });

  it("a console without the owner's key answers the owner's POST with 409 and the hint; nothing decided", async () => {
    await world.propose("p-locked", "40");
    const locked = await world.startConsole([]); // no VIBEWRITER_OWNER_PASSPHRASE
    try {
      const login = await call(locked.port, `/?token=${locked.ownerToken}`);
      const cookie = { cookie: login.headers["set-cookie"]![0]!.split(";")[0]! };
      const session = JSON.parse((await call(locked.port, "/api/session", cookie)).body) as { csrf: string; canDecide: boolean; decideHint: string };
      expect(session).toMatchObject({ canDecide: false, decideHint: expect.stringContaining("VIBEWRITER_OWNER_PASSPHRASE") });
      const r = await call(locked.port, "/api/payments/p-locked/approve", { ...cookie, ...action, "x-csrf-token": session.csrf }, "POST", "{}");
      expect(r.status).toBe(409);
      expect(JSON.parse(r.body).error).toContain("VIBEWRITER_OWNER_PASSPHRASE");
      expect((await world.wallet.get("p-locked"))?.status).toBe("pending_approval");
    } finally {
      await locked.stop();
    }
  });

  it("thread SSE: from the start, then live; resumes after Last-Event-ID without loss or duplicates, also after a console restart on the same state", async () => {
    const history = await world.nats.backbone.events.history(THREAD);
    const first = sseReader(await open(web.port, `/api/threads/${THREAD}/events`, owner));
    const replay = await first.next(history.length);
    expect(replay.map((e) => Number(e.id))).toEqual(history.map((e) => e.seq));
    expect(replay.every((e) => e.event === "vw")).toBe(true);
    expect(JSON.parse(replay[0]!.data)).toMatchObject({ type: "run.started", threadId: THREAD, seq: history[0]!.seq });
    const live = await world.publish({ type: EventType.Warning, data: { message: "live one" } });
    expect((await first.next(1))[0]).toMatchObject({ id: String(live) });
    first.close();

    // While nobody listens, two more; the browser comes back with the last id it saw.
    const missed = [
      await world.publish({ type: EventType.Warning, data: { message: "missed one" } }),
      await world.publish({ type: EventType.Warning, data: { message: "missed two" } }),
    ];
    // The console restarts on the same port and state dir: the owner's cookie still opens it.
    const port = web.port;
    await web.stop();
    web = await world.startConsole(["--viewer", "--port", String(port)], { VIBEWRITER_OWNER_PASSPHRASE: PASSPHRASE });
    expect(web.port).toBe(port);
    const resumed = sseReader(await open(web.port, `/api/threads/${THREAD}/events`, { ...owner, "last-event-id": String(live) }));
    const again = await resumed.next(2);
    expect(again.map((e) => Number(e.id))).toEqual(missed);
    const next = await world.publish({ type: EventType.Warning, data: { message: "after restart" } });
    expect((await resumed.next(1)).map((e) => Number(e.id))).toEqual([next]);
    resumed.close();
    expect((await call(web.port, `/api/threads/${THREAD}/events`, { ...owner, "last-event-id": "x1" })).status).toBe(400);
  }, 60_000);

  it("/api/live: every thread's new events as { threadId, type, seq }, resumable with ?after=", async () => {
    // The response head comes once the consumer exists: events published from now on arrive.
    const live = sseReader(await open(web.port, "/api/live", owner));
    const a = await world.publish({ type: EventType.Warning, data: { message: "a" } });
    const b = await world.publish({ type: EventType.Warning, data: { message: "b" } }, OTHER_THREAD);
    const got = await live.next(2);
    expect(got.map((e) => JSON.parse(e.data))).toEqual([
      { threadId: THREAD, type: "warning", seq: a },
      { threadId: OTHER_THREAD, type: "warning", seq: b },
    ]);
    expect(got.map((e) => e.id)).toEqual([String(a), String(b)]);
    live.close();
    // A fresh EventSource cannot send Last-Event-ID: the page asks with ?after= instead.
    const resumed = sseReader(await open(web.port, `/api/live?after=${a}`, owner));
    expect((await resumed.next(1)).map((e) => JSON.parse(e.data).seq)).toEqual([b]);
    resumed.close();
  });

  it("survives a NATS restart: an open thread stream goes on after it, nothing lost or twice", async () => {
    const last = (await world.nats.backbone.events.history(THREAD)).at(-1)!.seq;
    const stream = sseReader(await open(web.port, `/api/threads/${THREAD}/events`, { ...owner, "last-event-id": String(last) }));
    const before = await world.publish({ type: EventType.Warning, data: { message: "before the restart" } });
    expect((await stream.next(1)).map((e) => Number(e.id))).toEqual([before]);
    await world.nats.server.restart();
    const after = await world.publish({ type: EventType.Warning, data: { message: "after the restart" } });
    expect((await stream.next(1)).map((e) => Number(e.id))).toEqual([after]);
    stream.close();
    expect((await get("/api/threads")).status).toBe(200);
  }, 60_000);

  it("no JSON body carries a token, a seed or the passphrase", () => {
    expect(bodies.length).toBeGreaterThan(20);
    for (const body of bodies) {
      expect(body).not.toContain(web.ownerToken);
      expect(body).not.toContain(web.viewerToken!);
      expect(body).not.toContain(PASSPHRASE);
      expect(body).not.toMatch(/\bS[A-Z2-7]{55}\b/); // Stellar / nkey seeds
      expect(body).not.toMatch(/\bSU[A-Z2-7]{56}\b/);
    }
  });
});
