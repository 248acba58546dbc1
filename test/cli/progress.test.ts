import {
  applyEvent,
  compactCount,
  formatCallTotal,
  formatDuration,
  formatEvent,
  initialProgress,
  statusLine,
  sumModelCalls,
  type ProgressState,
} from "../../src/cli/progress.ts";
import { StatusLine } from "../../src/cli/status-line.ts";
import { secretRedactor } from "../../src/config/secret-env.ts";
import type { VibewriterEvent } from "../../src/nats/event-types.ts";

let n = 0;
const ev = (type: VibewriterEvent["type"], data: Record<string, unknown> = {}, agent = "main"): VibewriterEvent => ({
  id: `e${n++}`,
  type,
  threadId: "t1",
  agent,
  at: "2026-11-25T09:30:01.123Z",
  data,
}) as VibewriterEvent;

function play(events: VibewriterEvent[]): { state: ProgressState; lines: string[]; statuses: string[] } {
  let state = initialProgress();
  const lines: string[] = [];
  const statuses: string[] = [];
  for (const e of events) {
    const r = applyEvent(state, e);
    state = r.state;
    lines.push(...r.lines);
    statuses.push(statusLine(state));
  }
  return { state, lines, statuses };
}

describe("progress", () => {
  it("shows the current todo, the subagent and the tool, and logs finished steps", () => {
    const todos = (s: string[]) => ({
      todos: [
        { content: "Read sources", status: s[0] },
        { content: "Verify claims", status: s[1] },
      ],
    });
    const { state, lines, statuses } = play([
      ev("run.started", { task: "Assess ACME" }),
      ev("todos.updated", todos(["in_progress", "pending"])),
      ev("tool.started", { tool: "task", callId: "c1" }),
      ev("subagent.started", { subagent: "researcher", description: "read the filings", callId: "c1" }),
      ev("tool.started", { tool: "read_file", callId: "r1" }, "researcher"),
      ev("tool.finished", { tool: "read_file", callId: "r1", status: "ok" }, "researcher"),
      ev("file.written", { path: "/workspace/notes.md", tool: "write_file" }, "researcher"),
      ev("subagent.finished", { subagent: "researcher", callId: "c1", status: "ok" }),
      ev("tool.finished", { tool: "task", callId: "c1", status: "ok" }),
      ev("todos.updated", todos(["completed", "in_progress"])),
      ev("report.published", { artifact: "reports/t1.md" }),
      ev("run.finished"),
    ]);
    expect(statuses[0]).toBe("planning…");
    expect(statuses[1]).toBe("[0/2] Read sources");
    expect(statuses[2]).toBe("[0/2] task — Read sources");
    expect(statuses[3]).toBe("[0/2] researcher · task — Read sources");
    expect(statuses[4]).toBe("[0/2] researcher · read_file — Read sources");
    expect(statuses[7]).toBe("[0/2] task — Read sources");
    expect(statuses[9]).toBe("[1/2] Verify claims");
    expect(lines).toEqual([
      "run started: thread t1 — Assess ACME",
      "plan: 2 todos",
      "→ researcher: read the filings",
      "  wrote /workspace/notes.md",
      "← researcher done",
      "✓ Read sources",
      "report published: reports/t1.md",
      "run finished",
    ]);
    expect(state.finished).toBe(true);
  });

  it("logs a line per payment status, with the policy's reason", () => {
    const { lines } = play([
      ev("payment", { paymentId: "pay-1", status: "denied", amount: "105", asset: "XLM", destination: "GABC", reason: "above the per-transaction cap" }),
      ev("payment", { paymentId: "pay-2", status: "signed", amount: "15", asset: "XLM", destination: "GABC" }),
    ]);
    expect(lines).toEqual(["  payment 105 XLM to GABC: denied (above the per-transaction cap)", "  payment 15 XLM to GABC: signed"]);
  });

  it("formats events as plain lines", () => {
    expect(formatEvent(ev("tool.finished", { tool: "execute", callId: "x9", status: "ok", replayed: true }, "verifier"))).toBe(
      "09:30:01 tool.finished [verifier] execute (x9) (replayed from the effect journal)",
    );
    expect(formatEvent(ev("tool.finished", { tool: "execute", callId: "x9", status: "error", output: "boom" }))).toBe(
      "09:30:01 tool.finished execute (x9) error: boom",
    );
    expect(formatEvent(ev("todos.updated", { todos: [{ content: "A", status: "completed" }, { content: "B", status: "in_progress" }] }))).toBe(
      "09:30:01 todos.updated ✓ A; ▸ B",
    );
    expect(formatEvent(ev("run.finished"))).toBe("09:30:01 run.finished");
  });

  it("says who took a thread over from whom, and the links between parent and child runs", () => {
    const from = { kind: "worker", id: "w-1", host: "a", pid: 12 };
    const by = { kind: "worker", id: "w-2", host: "b", pid: 34 };
    expect(formatEvent(ev("lease.taken_over", { from, silentMs: 7_200, by }))).toBe(
      `09:30:01 lease.taken_over from worker w-1 on a (pid 12), silent ${formatDuration(7_200)}, by worker w-2 on b (pid 34)`,
    );
    expect(formatEvent(ev("child.submitted", { child: "t-c1", question: "Who?", sources: "none", maxModelCalls: 5, maxTokens: 100 }))).toBe("09:30:01 child.submitted t-c1: Who?");
    expect(formatEvent(ev("child.finished", { child: "t-c1", status: "completed", source: "thread:t-c1" }))).toBe("09:30:01 child.finished t-c1 completed (source thread:t-c1)");
    expect(formatEvent(ev("delegated.from", { parent: "t-p", question: "Who?" }))).toBe("09:30:01 delegated.from by t-p: Who?");
  });
});

describe("model calls in progress and events", () => {
  const call = (agent: string, data: Record<string, unknown>) => ev("model.call", { model: "gpt-4o-mini", toolCalls: 0, ...data }, agent);

  it("the status line names the agent waiting for the model and for how long", () => {
    let state = initialProgress();
    state = applyEvent(state, ev("model.started", { model: "m" }), 1_000).state;
    expect(statusLine(state, 4_500)).toBe("planning… · main: waiting for the model (3 s)");
    state = applyEvent(state, call("main", { latencyMs: 3500 }), 4_500).state;
    expect(statusLine(state, 5_000)).toBe("planning…");
    state = applyEvent(state, ev("todos.updated", { todos: [{ content: "Check", status: "in_progress" }] })).state;
    state = applyEvent(state, ev("subagent.started", { subagent: "researcher", callId: "c" })).state;
    state = applyEvent(state, ev("subagent.started", { subagent: "verifier", callId: "d" }, "researcher")).state;
    state = applyEvent(state, ev("model.started", { model: "m" }, "verifier"), 10_000).state;
    expect(statusLine(state, 75_000)).toBe("[0/1] researcher › verifier: waiting for the model (1 m 5 s) — Check");
    // The since-time defaults to the event's own time.
    const own = applyEvent(initialProgress(), ev("model.started", { model: "m" })).state;
    expect(own.waiting.main!.since).toBe(Date.parse("2026-11-25T09:30:01.123Z"));
  });

  it("run.finished and run.failed lines say how the run ended, its model usage, and only a failure's first line", () => {
    let state = initialProgress();
    state = applyEvent(state, call("main", { latencyMs: 1200, inputTokens: 1000, outputTokens: 10 })).state;
    expect(applyEvent(state, ev("run.finished", { status: "completed" })).lines).toEqual([
      "run finished — 1 model call, 1.2 s with the model, 1,000 in / 10 out tokens",
    ]);
    expect(applyEvent(state, ev("run.finished", { status: "interrupted" })).lines[0]).toMatch(/^run finished \(interrupted\) — 1 model call/);
    expect(applyEvent(state, ev("run.failed", { message: "\n429 Too Many Requests\n  at Object.fetch (/home/u/x.js:1:2)" })).lines).toEqual([
      "run failed: 429 Too Many Requests — after 1 model call, 1.2 s with the model, 1,000 in / 10 out tokens",
    ]);
  });

  it("events prints model calls compactly, and run endings with their reason", () => {
    expect(formatEvent(ev("model.started", { model: "gpt-4o-mini" }, "researcher"))).toBe("09:30:01 model.started [researcher] gpt-4o-mini");
    expect(formatEvent(call("researcher", { latencyMs: 2345, inputTokens: 1234, outputTokens: 56, toolCalls: 2 }))).toBe(
      "09:30:01 model.call [researcher] gpt-4o-mini 2.3 s, 1,234 in / 56 out tokens, 2 tool calls",
    );
    expect(formatEvent(call("main", { latencyMs: 61_000, toolCalls: 1, malformed: 1, renamedToolCallIds: 2 }))).toBe(
      "09:30:01 model.call gpt-4o-mini 1 m 1 s, tokens not reported, 1 tool call, 1 malformed, 2 call ids renamed",
    );
    expect(formatEvent(ev("run.finished", { status: "incomplete", report: null, todos: 4, reason: "the agent stopped without publishing a report" }))).toBe(
      "09:30:01 run.finished incomplete: the agent stopped without publishing a report",
    );
    expect(formatEvent(ev("run.finished", { status: "completed", report: "threads/t1/report.md", todos: 4 }))).toBe(
      "09:30:01 run.finished completed (report threads/t1/report.md)",
    );
    expect(formatEvent(ev("run.failed", { message: "the model call timed out after 60 s\nstack…" }))).toBe("09:30:01 run.failed the model call timed out after 60 s");
  });

  it("sums model calls in one total line, per agent", () => {
    const events = [
      call("main", { latencyMs: 1000, inputTokens: 100, outputTokens: 10 }),
      ev("tool.started", { tool: "task", callId: "c" }),
      call("researcher", { latencyMs: 2500, inputTokens: 2000, outputTokens: 200 }),
      call("researcher", { latencyMs: 500 }),
      call("main", { latencyMs: 60_000, inputTokens: 1_000_000, outputTokens: 1 }),
    ];
    expect(formatCallTotal(sumModelCalls(events))).toBe(
      "total: 4 model calls (main 2, researcher 2), 1 m 4 s with the model, 1,002,100 in / 211 out tokens (reported for 3 of 4 calls)",
    );
    expect(formatCallTotal(sumModelCalls([call("verifier", { latencyMs: 10 })]))).toBe("total: 1 model call (verifier), 0.0 s with the model, tokens not reported");
    expect(formatCallTotal(sumModelCalls([]))).toBe("total: no model calls");
  });

  it("formats durations and token counts for people", () => {
    expect([450, 2345, 59_940, 60_000, 83_400, 3_725_000].map(formatDuration)).toEqual(["0.5 s", "2.3 s", "59.9 s", "1 m", "1 m 23 s", "1 h 2 m"]);
    expect([950, 12_345, 999_949, 4_500_000].map(compactCount)).toEqual(["950", "12.3k", "999.9k", "4.5M"]);
  });
});

describe("status line", () => {
  function sink(tty: boolean) {
    const chunks: string[] = [];
    return { out: { write: (s: string) => chunks.push(s), isTTY: tty, columns: 20 }, chunks };
  }

  it("redraws one line on a TTY, truncated to the width, with permanent lines above", () => {
    const { out, chunks } = sink(true);
    const s = new StatusLine(out);
    s.set("first status");
    s.set("first status"); // unchanged: no redraw
    s.log("done step");
    s.set("a much longer status than twenty columns");
    s.clear();
    expect(chunks).toEqual([
      "\r\x1b[2Kfirst status",
      "\r\x1b[2Kdone step\nfirst status",
      "\r\x1b[2Ka much longer stat…",
      "\r\x1b[2K",
    ]);
  });

  it("prints plain lines, only on change, when not a TTY", () => {
    const { out, chunks } = sink(false);
    const s = new StatusLine(out);
    s.set("one");
    s.set("one");
    s.log("step");
    s.set("two");
    s.clear();
    expect(chunks.join("")).toBe("one\nstep\ntwo\n");
  });
});

describe("secret redaction", () => {
  it("replaces secret env values wherever they appear, ignores short ones", () => {
    const r = secretRedactor({ OPENAI_API_KEY: "sk-abcdef123", NATS_TOKEN: "abc", PATH: "/usr/bin" });
    expect(r("key=sk-abcdef123, again sk-abcdef123")).toBe("key=[redacted], again [redacted]");
    expect(r("abc /usr/bin")).toBe("abc /usr/bin");
  });

  it("covers every passphrase and key Vibewriter reads, the owner's included", () => {
    const env = { VIBEWRITER_WALLET_PASSPHRASE: "wallet-pass-1", VIBEWRITER_WALLET_KEY: "wallet-key-22", VIBEWRITER_OWNER_PASSPHRASE: "owner-pass-333" };
    expect(secretRedactor(env)("wallet-pass-1 wallet-key-22 owner-pass-333")).toBe("[redacted] [redacted] [redacted]");
  });
});
