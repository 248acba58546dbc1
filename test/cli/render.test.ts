import { renderResult, newThreadId } from "../../src/cli/commands/run.ts";
import { renderThread } from "../../src/cli/commands/threads.ts";

describe("rendering results", () => {
  it("a paused run names each payment, the commands to decide it, and how to continue", () => {
    const text = renderResult({
      threadId: "t-1",
      status: "interrupted",
      todos: [],
      finalMessage: "",
      usage: { calls: 3, inputTokens: 100, outputTokens: 20 },
      interrupts: [
        {
          value: {
            kind: "payment_approval",
            proposalId: "pay-abc",
            destination: "GDEST",
            asset: "XLM",
            amount: "30",
            memo: null,
            reason: "above the approval threshold of 20",
            approve: "vibewriter approve pay-abc",
            reject: "vibewriter reject pay-abc",
          },
        },
      ],
    });
    expect(text).toBe(
      "Thread t-1 is paused, waiting for the owner:\n" +
        "  payment pay-abc: 30 XLM to GDEST (above the approval threshold of 20)\n" +
        "    approve: vibewriter approve pay-abc\n" +
        "    reject:  vibewriter reject pay-abc\n" +
        "Then continue the run: vibewriter resume t-1\n",
    );
  });

  it("a completed run prints the report, or says none was published", () => {
    const base = { threadId: "t-2", status: "completed" as const, todos: [], interrupts: [], usage: { calls: 1, inputTokens: 10, outputTokens: 2 } };
    expect(renderResult({ ...base, finalMessage: "done", report: "# R\n", reportArtifact: "threads/t-2/report.md" })).toBe(
      "Thread t-2 completed.\nReport (threads/t-2/report.md):\n\n# R\n",
    );
    expect(renderResult({ ...base, finalMessage: "nothing to say" })).toBe("Thread t-2 completed.\nNo report was published.\n\nnothing to say\n");
  });

  it("an incomplete run says why and how to continue; a budget pause says how to raise the budget", () => {
    const usage = { calls: 3, inputTokens: 100, outputTokens: 20 };
    expect(renderResult({ threadId: "t-4", status: "incomplete", todos: [], interrupts: [], usage, finalMessage: "I read a file.", reason: "the agent stopped without publishing a report" })).toBe(
      "Thread t-4 is INCOMPLETE: the agent stopped without publishing a report.\n\nI read a file.\n\nContinue it with: vibewriter resume t-4\n",
    );
    const paused = renderResult({
      threadId: "t-5",
      status: "interrupted",
      todos: [],
      finalMessage: "",
      usage,
      interrupts: [{ value: { kind: "budget_exhausted", reason: "the run has made 3 model calls (limit 3)", calls: 3, tokens: 120, maxCalls: 3, maxTokens: 1000, resume: "vibewriter resume t-5 --max-model-calls 6 --max-tokens 2000" } }],
    });
    expect(paused).toContain("the model budget is used up: the run has made 3 model calls (limit 3)");
    expect(paused).toContain("to go on, raise it: vibewriter resume t-5 --max-model-calls 6 --max-tokens 2000");
  });

  it("show renders todo marks and says how to resume a stopped thread", () => {
    const text = renderThread({
      threadId: "t-3",
      status: "running",
      task: "x",
      todos: [
        { content: "a", status: "completed" },
        { content: "b", status: "in_progress" },
        { content: "c", status: "pending" },
      ],
      files: [],
      events: 7,
    });
    expect(text).toContain("plan:\n  [x] a\n  [>] b\n  [ ] c\n");
    expect(text).toContain("files: (none)");
    expect(text).toContain("`vibewriter resume t-3`");
  });

  it("new thread ids are valid for the agent and sort by time", () => {
    const a = newThreadId("t", new Date("2026-11-25T09:00:00Z"));
    const b = newThreadId("t", new Date("2026-11-25T10:00:00Z"));
    expect(a).toMatch(/^t-20261125-090000-[0-9a-f]{6}$/);
    expect(a < b).toBe(true);
    expect(a).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
  });
});
