/**
 * The live display of a run (`vibewriter run`): what it shows while an agent waits for the model,
 * on a terminal (a redrawn status line) and without one (plain lines, summarised). Driven by
 * constructed events and a fake clock: no timers, no sleeps.
 */
import { RunDisplay, type DisplayClock } from "../../src/cli/run-display.ts";
import type { VibewriterEvent } from "../../src/nats/event-types.ts";

let n = 0;
const ev = (type: VibewriterEvent["type"], data: Record<string, unknown> = {}, agent = "main"): VibewriterEvent =>
  ({ id: `e${n++}`, type, threadId: "t1", agent, at: "2026-11-25T09:30:01.123Z", data }) as VibewriterEvent;

/** A clock the test moves: `advance` runs each due tick at its own time, in order. */
function fakeClock(start = 5_000_000) {
  let now = start;
  const timers: { every: number; next: number; tick: () => void; stopped: boolean }[] = [];
  const clock: DisplayClock & { advance(ms: number): void; running(): number } = {
    now: () => now,
    every(ms, tick) {
      const t = { every: ms, next: now + ms, tick, stopped: false };
      timers.push(t);
      return () => void (t.stopped = true);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => !t.stopped && t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (!due) break;
        now = due.next;
        due.next += due.every;
        due.tick();
      }
      now = end;
    },
    running: () => timers.filter((t) => !t.stopped).length,
  };
  return clock;
}

function sink(tty: boolean) {
  const chunks: string[] = [];
  return { out: { write: (s: string) => void chunks.push(s), isTTY: tty, columns: 200 }, chunks, text: () => chunks.join("") };
}

const call = (agent: string, latencyMs: number, tokens?: [number, number]) =>
  ev("model.call", { model: "gpt-test", latencyMs, toolCalls: 1, ...(tokens ? { inputTokens: tokens[0], outputTokens: tokens[1] } : {}) }, agent);

describe("run display: waiting for the model", () => {
  it("on a terminal, redraws the status line each second with who waits and for how long", () => {
    const clock = fakeClock();
    const { out, chunks } = sink(true);
    const d = new RunDisplay(out, false, { clock });
    d.onEvent(ev("todos.updated", { todos: [{ content: "Read sources", status: "in_progress" }] }));
    d.onEvent(ev("tool.started", { tool: "task", callId: "c1" }));
    d.onEvent(ev("subagent.started", { subagent: "researcher", callId: "c1" }));
    d.onEvent(ev("model.started", { model: "gpt-test" }, "researcher"));
    expect(chunks.at(-1)).toBe("\r\x1b[2K[0/1] researcher: waiting for the model (0 s) — Read sources");
    expect(clock.running()).toBe(1);
    clock.advance(12_400);
    expect(chunks.at(-1)).toBe("\r\x1b[2K[0/1] researcher: waiting for the model (12 s) — Read sources");
    // One redraw per second of waiting, each a different line.
    expect(chunks.filter((c) => c.includes("waiting for the model"))).toHaveLength(13);
    d.onEvent(call("researcher", 12_400, [1234, 56]));
    expect(chunks.at(-1)).toBe("\r\x1b[2K[0/1] researcher · task — Read sources");
    expect(clock.running()).toBe(0); // no ticking while nobody waits
    clock.advance(5_000);
    expect(chunks.at(-1)).toBe("\r\x1b[2K[0/1] researcher · task — Read sources");
    d.onEvent(ev("subagent.finished", { subagent: "researcher", callId: "c1", status: "ok" }));
    expect(chunks.at(-2)).toBe("\r\x1b[2K← researcher done (1 model call, 12.4 s with the model, 1,234 in / 56 out tokens)\n[0/1] researcher · task — Read sources");
  });

  it("stops ticking when the run ends or the display is cleared", () => {
    const clock = fakeClock();
    const { out } = sink(true);
    const d = new RunDisplay(out, false, { clock });
    d.onEvent(ev("model.started", { model: "m" }));
    expect(clock.running()).toBe(1);
    d.onEvent(ev("run.failed", { message: "provider said no\n    at stack (/home/x.js:1)" }));
    expect(clock.running()).toBe(0);
    d.onEvent(ev("model.started", { model: "m" }, "verifier"));
    d.clear();
    expect(clock.running()).toBe(0);
  });

  it("without a terminal: quick answers are summed, slow ones and long waits get a line", () => {
    const clock = fakeClock();
    const { out, text } = sink(false);
    const d = new RunDisplay(out, false, { clock });
    d.onEvent(ev("run.started", { task: "Assess ACME" }));
    for (let i = 0; i < 3; i++) {
      d.onEvent(ev("model.started", { model: "gpt-test" }));
      clock.advance(800);
      d.onEvent(call("main", 800, [1000, 20]));
    }
    d.onEvent(ev("subagent.started", { subagent: "researcher", callId: "c1" }));
    d.onEvent(ev("model.started", { model: "gpt-test" }, "researcher"));
    clock.advance(9_000);
    expect(text()).not.toContain("still waiting");
    clock.advance(26_000); // 35 s into the wait: lines at 10 s and 30 s
    d.onEvent(call("researcher", 35_000, [5000, 300]));
    d.onEvent(ev("model.started", { model: "gpt-test" }, "researcher"));
    clock.advance(6_100);
    d.onEvent(call("researcher", 6_100)); // slow: a line, though the provider reported no tokens
    d.onEvent(ev("subagent.finished", { subagent: "researcher", callId: "c1", status: "ok" }));
    d.onEvent(ev("run.finished", { status: "incomplete", reason: "no report" }));
    expect(text()).toBe(
      [
        "run started: thread t1 — Assess ACME",
        "→ researcher",
        "  researcher: still waiting for the model (10 s)",
        "  researcher: still waiting for the model (30 s)",
        "  researcher: model answered in 35.0 s (5,000 in / 300 out tokens)",
        "  researcher: model answered in 6.1 s (tokens not reported)",
        "← researcher done (2 model calls, 41.1 s with the model, 5,000 in / 300 out tokens (reported for 1 of 2 calls))",
        "run finished (incomplete) — 5 model calls, 43.5 s with the model, 8,000 in / 360 out tokens (reported for 4 of 5 calls)",
        "",
      ].join("\n"),
    );
  });

  it("without a terminal, a wait of minutes is noted at 10 s, 30 s, 1 min, then once a minute", () => {
    const clock = fakeClock();
    const { out, text } = sink(false);
    const d = new RunDisplay(out, false, { clock });
    d.onEvent(ev("model.started", { model: "slow-local-model" }));
    clock.advance(190_000);
    expect(text().trimEnd().split("\n")).toEqual([
      "  main: still waiting for the model (10 s)",
      "  main: still waiting for the model (30 s)",
      "  main: still waiting for the model (1 m)",
      "  main: still waiting for the model (2 m)",
      "  main: still waiting for the model (3 m)",
    ]);
  });

  it("--json shows nothing and starts no clock", () => {
    const clock = fakeClock();
    const { out, chunks } = sink(true);
    const d = new RunDisplay(out, true, { clock });
    d.onEvent(ev("model.started", { model: "m" }));
    clock.advance(20_000);
    d.onEvent(call("main", 20_000, [1, 1]));
    expect(chunks).toEqual([]);
    expect(clock.running()).toBe(0);
  });
});
