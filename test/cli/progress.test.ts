import { applyEvent, formatEvent, initialProgress, statusLine, type ProgressState } from "../../src/cli/progress.ts";
import { StatusLine } from "../../src/cli/status-line.ts";
import { secretRedactor } from "../../src/cli/redact.ts";
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
});
