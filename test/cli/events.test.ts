/** `vibewriter events` against a real nats-server: history in order, --json lines, --follow live. */
import type { NewEvent, VibewriterEvent } from "../../src/nats/event-types.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";
import { spawnCli } from "./child.ts";

const THREAD = "events-1";
const ev = (i: number, type: VibewriterEvent["type"], data: Record<string, unknown>): NewEvent => ({
  id: `test:${i}`,
  type,
  agent: i % 2 ? "researcher" : "main",
  at: new Date(Date.UTC(2026, 10, 25, 10, 0, i)).toISOString(), // 10:00:00 + i seconds
  data,
}) as NewEvent;

describe("vibewriter events", () => {
  let nats: TestNats;
  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url });
  const port = () => nats.backbone.events;

  beforeAll(async () => {
    nats = await startTestNats();
    for (let i = 0; i < 30; i++) {
      await port().publish(THREAD, ev(i, "tool.started", { tool: `tool${i}`, callId: `c${i}` }));
    }
    // Another thread's events must not leak into this one's log.
    await port().publish("other-thread", ev(99, "warning", { message: "other" }));
  });
  afterAll(async () => {
    await nats?.close();
  });

  it("prints every event of the thread, in order, one line each (no total when there are no model calls)", async () => {
    const io = captureIo(env());
    expect(await main(["events", THREAD], io)).toBe(0);
    const lines = io.out().trim().split("\n");
    expect(lines).toHaveLength(30);
    expect(lines[0]).toBe("10:00:00 tool.started tool0 (c0)");
    expect(lines[1]).toBe("10:00:01 tool.started [researcher] tool1 (c1)");
    expect(lines[29]).toBe("10:00:29 tool.started [researcher] tool29 (c29)");
  });

  it("--json prints one event object per line", async () => {
    const io = captureIo(env());
    expect(await main(["events", THREAD, "--json"], io)).toBe(0);
    const events = io.out().trim().split("\n").map((l) => JSON.parse(l) as VibewriterEvent);
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => `test:${i}`));
  });

  it("an unknown thread is not found; a replayed event id is stored once", async () => {
    const io = captureIo(env());
    expect(await main(["events", "nobody"], io)).toBe(1);
    expect(io.err()).toMatch(/unknown thread "nobody"/);

    await port().publish(THREAD, ev(0, "tool.started", { tool: "tool0", callId: "c0" })); // same id as before
    const again = captureIo(env());
    await main(["events", THREAD, "--json"], again);
    expect(again.out().trim().split("\n")).toHaveLength(30);
  });

  it("--follow prints the history, then new events as they come, and exits 0 on Ctrl-C", async () => {
    const child = spawnCli(["events", THREAD, "--follow"], env());
    await child.waitForOutput("tool29 (c29)");
    await port().publish(THREAD, ev(40, "warning", { message: "live from the test" }));
    await child.waitForOutput("live from the test");
    await port().publish(THREAD, ev(42, "model.call", { model: "gpt-4o-mini", latencyMs: 2345, inputTokens: 1234, outputTokens: 56, toolCalls: 0 }));
    await child.waitForOutput("model.call");
    await port().publish(THREAD, ev(41, "run.finished", { status: "completed" }));
    await child.waitForOutput(/run\.finished/);
    child.child.kill("SIGINT");
    const { code } = await child.exited;
    expect(code).toBe(0);
    const lines = child.stdout().trim().split("\n");
    expect(lines).toHaveLength(33); // following has no end, so no total line
    expect(lines.at(-3)).toMatch(/warning .*live from the test/);
    expect(lines.at(-2)).toBe("10:00:42 model.call gpt-4o-mini 2.3 s, 1,234 in / 56 out tokens, 0 tool calls");
    expect(child.stderr()).toMatch(/Ctrl-C: stopping/);
  });
});
