/** `vibewriter web`: the dashboard's page, JSON API and live event stream, on a real nats-server. */
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

describe("vibewriter web", () => {
  let nats: TestNats;
  let web: CliChild;
  let base = "";
  const publish = (e: NewEvent) => nats.backbone.events.publish(THREAD, e);

  beforeAll(async () => {
    nats = await startTestNats();
    await publish(ev("run.started", { task: "Assess <b>ACME</b>" }));
    await publish(ev("run.finished", { status: "completed" }));
    web = spawnCli(["web", "--port", "0"], { PATH: process.env.PATH, NATS_URL: nats.server.url });
    await web.waitForOutput(/Dashboard: http:\/\/127\.0\.0\.1:\d+/);
    base = /Dashboard: (http:\/\/127\.0\.0\.1:\d+)/.exec(web.stdout())![1]!;
  });
  afterAll(async () => {
    if (web && web.child.exitCode === null) web.child.kill("SIGKILL");
    await nats?.close();
  });

  it("serves the page with a strict content security policy", async () => {
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    const html = await r.text();
    expect(html).toContain("<title>Vibewriter</title>");
    expect(html).not.toMatch(/innerHTML/); // server data is only ever inserted as text
  });

  it("lists threads and shows one; unknown → 404, bad id → 400, writes → 405", async () => {
    const list = (await (await fetch(`${base}/api/threads`)).json()) as { threads: { threadId: string; status: string; task: string }[] };
    expect(list.threads).toEqual([expect.objectContaining({ threadId: THREAD, status: "completed", task: "Assess <b>ACME</b>" })]);
    const one = await fetch(`${base}/api/threads/${THREAD}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ threadId: THREAD, status: "completed", events: 2 });
    expect((await fetch(`${base}/api/threads/nobody`)).status).toBe(404);
    expect((await fetch(`${base}/api/threads/..%2Fetc`)).status).toBe(400);
    expect((await fetch(`${base}/api/threads`, { method: "POST" })).status).toBe(405);
  });

  it("streams a thread's events from the start, then live", async () => {
    const controller = new AbortController();
    const r = await fetch(`${base}/api/threads/${THREAD}/events`, { signal: controller.signal });
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const reader = r.body!.getReader();
    let text = "";
    const until = async (s: string) => {
      while (!text.includes(s)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before "${s}": ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await until('"run.finished"');
    expect(text.indexOf('"run.started"')).toBeLessThan(text.indexOf('"run.finished"'));
    await publish(ev("warning", { message: "live via SSE" }));
    await until("live via SSE");
    controller.abort();
  });

  it("stops on Ctrl-C with exit 0", async () => {
    web.child.kill("SIGINT");
    expect((await web.exited).code).toBe(0);
  });
});
