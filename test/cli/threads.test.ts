/**
 * `threads`, `show`, `events` (and `demo`, which creates the thread) against a real nats-server,
 * with the agent run by its scripted demo model on the real microVM sandbox.
 */
import { startTestNats, type TestNats } from "../support/nats.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";
import { requireGuestImage } from "./guest-image.ts";

const THREAD = "cli-threads-1";

describe("threads, show, events", () => {
  let nats: TestNats;
  let demoOut = "";
  const env = () => ({ ...process.env, NATS_URL: nats.server.url });

  beforeAll(async () => {
    await requireGuestImage();
    nats = await startTestNats();
    const io = captureIo(env());
    const code = await main(["demo", "--thread", THREAD], io);
    demoOut = io.out();
    if (code !== 0) throw new Error(`vibewriter demo failed (${code}):\n${io.out()}\n${io.err()}`);
  }, 600_000);
  afterAll(async () => {
    await nats?.close();
  });

  it("demo says it is scripted, shows progress lines and prints the report", () => {
    expect(demoOut).toMatch(/^demo thread cli-threads-1 with \[scripted demo model — no LLM\]/);
    expect(demoOut).toContain("plan: 4 todos");
    expect(demoOut).toContain("→ researcher");
    expect(demoOut).toMatch(/report published: threads\/cli-threads-1\/report\.md/);
    expect(demoOut).toMatch(/Thread cli-threads-1 completed\.\nReport \(threads\/cli-threads-1\/report\.md\):/);
  });

  it("threads lists it as completed with a report", async () => {
    const io = captureIo(env());
    expect(await main(["threads", "--json"], io)).toBe(0);
    const { threads } = JSON.parse(io.out()) as { threads: { threadId: string; status: string; hasReport: boolean }[] };
    expect(threads.find((t) => t.threadId === THREAD)).toMatchObject({ status: "completed", hasReport: true });
    const text = captureIo(env());
    await main(["threads"], text);
    expect(text.out()).toMatch(/^THREAD\s+STATUS/);
    expect(text.out()).toMatch(/^THREAD\s+STATUS\s+UPDATED\s+REPORT\s+CALLS\s+TOKENS\s+TASK\n/);
    expect(text.out()).toMatch(/cli-threads-1\s+completed\s+\S+ \S+\s+yes\s+\d+\s+\S+\s+Due diligence on Northwind/);
  });

  it("show gives the plan with todo status, the files and the report", async () => {
    const io = captureIo(env());
    expect(await main(["show", THREAD, "--json"], io)).toBe(0);
    const d = JSON.parse(io.out()) as { todos: { status: string }[]; files: string[]; report: string; status: string };
    expect(d.status).toBe("completed");
    expect(d.todos).toHaveLength(4);
    expect(d.todos.every((t) => t.status === "completed")).toBe(true);
    expect(d.files).toContain("/workspace/report.md");
    expect(d.report).toMatch(/\[\[src:[^|\]]+\|"/); // citation-ready: carries citations

    const text = captureIo(env());
    await main(["show", THREAD], text);
    expect(text.out()).toMatch(/^thread cli-threads-1 — completed\ntask: Due diligence/);
    expect(text.out()).toMatch(/plan:\n {2}\[x\] Research the sources/);
    expect(text.out()).toContain("files:\n");
    expect(text.out()).toContain("report:\n\n");
    // The demo's model calls, summed per run and per agent; a completed thread has no next step.
    expect(text.out()).toMatch(/\nmodel usage: \d+ model calls, \S+ s with the model, /);
    expect(text.out()).toMatch(/ {2}by run:\n {4}run 1 \S+ \S+\s+\d+ calls .* completed\n/);
    expect(text.out()).toMatch(/ {2}by agent:\n {4}main\s+\d+ calls?\b.*\n {4}researcher\s+\d+ calls?\b/);
    expect(text.out()).not.toContain("next:");
    expect((d as unknown as { usage: { agents: { agent: string }[] } }).usage.agents.map((a) => a.agent)).toEqual(
      expect.arrayContaining(["main", "researcher", "verifier", "publisher"]),
    );
  });

  it("show/events of an unknown thread: not found, with the way to list threads", async () => {
    for (const cmd of ["show", "events"]) {
      const io = captureIo(env());
      expect(await main([cmd, "no-such-thread"], io)).toBe(1);
      expect(io.err()).toMatch(/unknown thread "no-such-thread"/);
      expect(io.err()).toMatch(/vibewriter threads/);
    }
  });

  it("events prints the log in order; --json prints one event per line", async () => {
    const io = captureIo(env());
    expect(await main(["events", THREAD, "--json"], io)).toBe(0);
    const events = io.out().trim().split("\n").map((l) => JSON.parse(l) as { type: string; threadId: string });
    expect(events.length).toBeGreaterThan(10);
    expect(events.every((e) => e.threadId === THREAD)).toBe(true);
    expect(events[0]!.type).toBe("skill.loaded");
    const types = events.map((e) => e.type);
    expect(types.indexOf("run.started")).toBeLessThan(types.indexOf("todos.updated"));
    expect(types.indexOf("report.published")).toBeLessThan(types.lastIndexOf("run.finished"));
    expect(types.at(-1)).toBe("run.finished");

    const text = captureIo(env());
    await main(["events", THREAD], text);
    const lines = text.out().trim().split("\n");
    expect(lines).toHaveLength(events.length + 1); // and the total of the model calls
    expect(lines.at(-2)).toMatch(/^\d\d:\d\d:\d\d run\.finished completed \(report threads\/cli-threads-1\/report\.md\)$/);
    expect(lines.at(-1)).toMatch(/^total: \d+ model calls \(main \d+, researcher \d+, .*\), \S+ s with the model, /);
    expect(lines.find((l) => / model\.call \[researcher\] /.test(l))).toMatch(/ \d+\.\d s, (tokens not reported|[\d,]+ in \/ [\d,]+ out tokens), \d+ tool calls?$/);
  });
});
