import { renderResult } from "../../src/cli/commands/run.ts";
import { newThreadId } from "../../src/config/index.ts";
import { renderThread } from "../../src/cli/commands/threads.ts";
import { threadUsage, type ThreadDetails } from "../../src/agent/threads.ts";
import type { VibewriterEvent } from "../../src/nats/event-types.ts";

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

  it("a failed or incomplete run says why and how to continue; a budget pause says how to raise the budget", () => {
    const usage = { calls: 3, inputTokens: 100, outputTokens: 20 };
    expect(renderResult({ threadId: "t-4", status: "failed", todos: [], interrupts: [], usage, finalMessage: "I read a file.", reason: "the agent stopped without publishing a report" })).toBe(
      "Thread t-4 FAILED: the agent stopped without publishing a report.\n\nI read a file.\n\nContinue it with: vibewriter resume t-4\n",
    );
    expect(renderResult({ threadId: "t-4", status: "incomplete", todos: [], interrupts: [], usage, finalMessage: "", reason: "the agent stopped with 1 of 4 planned steps not done: Publish" })).toBe(
      "Thread t-4 is INCOMPLETE: the agent stopped with 1 of 4 planned steps not done: Publish.\nContinue it with: vibewriter resume t-4\n",
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

describe("show: status with its reason, how to continue, model usage", () => {
  const base = { threadId: "t-6", task: "x", todos: [], files: [], events: 9, usage: threadUsage([]) };
  const show = (d: Partial<ThreadDetails>) => renderThread({ ...base, status: "completed", ...d });

  it("each status that is not completed says why and what to run next", () => {
    const incomplete = show({ status: "incomplete", reason: "the agent stopped without publishing a report" });
    expect(incomplete).toMatch(/^thread t-6 — incomplete: the agent stopped without publishing a report\n/);
    expect(incomplete).toContain("\nnext:\n  continue it (the agent is asked to finish what is missing): vibewriter resume t-6\n");

    const failed = show({ status: "failed", reason: "429 Too Many Requests" });
    expect(failed).toMatch(/^thread t-6 — failed: 429 Too Many Requests\n/);
    expect(failed).toContain("next:\n  continue it from its last saved step: vibewriter resume t-6\n");

    const payment = show({
      status: "interrupted",
      reason: "waiting for payment approval (30 XLM to GDEST, pay-abc)",
      waitingFor: [{ kind: "payment_approval", proposalId: "pay-abc", amount: "30", asset: "XLM", destination: "GDEST", approve: "vibewriter approve pay-abc", reject: "vibewriter reject pay-abc" }],
    });
    expect(payment).toMatch(/^thread t-6 — interrupted: waiting for payment approval \(30 XLM to GDEST, pay-abc\)\n/);
    expect(payment).toContain("next:\n  decide payment pay-abc: vibewriter approve pay-abc  or  vibewriter reject pay-abc\n  then continue it: vibewriter resume t-6\n");

    const budget = show({
      status: "interrupted",
      reason: "waiting for a larger model budget (the run has made 3 model calls (limit 3))",
      waitingFor: [{ kind: "budget_exhausted", reason: "the run has made 3 model calls (limit 3)", resume: "vibewriter resume t-6 --max-model-calls 6 --max-tokens 2000" }],
    });
    expect(budget).toContain("next:\n  raise the model budget and continue: vibewriter resume t-6 --max-model-calls 6 --max-tokens 2000\n");

    expect(show({})).not.toContain("next:");
    expect(show({})).toContain("model usage: no model calls recorded\n");
  });

  it("sums model calls, tokens and time with the model per run and per agent", () => {
    let i = 0;
    const ev = (type: VibewriterEvent["type"], data: Record<string, unknown>, agent = "main", at = "2026-11-25T10:00:00.000Z") =>
      ({ id: `u${i++}`, type, agent, threadId: "t-6", at, data }) as VibewriterEvent;
    const call = (agent: string, latencyMs: number, inputTokens?: number, outputTokens?: number) =>
      ev("model.call", { model: "m", latencyMs, toolCalls: 0, ...(inputTokens !== undefined ? { inputTokens, outputTokens } : {}) }, agent);
    const usage = threadUsage([
      ev("run.started", { task: "x" }),
      call("main", 1000, 9000, 100),
      call("researcher", 2000, 3000, 300),
      call("researcher", 3000, 3000, 300),
      ev("run.finished", { status: "interrupted" }),
      ev("run.started", { resumed: true, checkpoint: "c1" }, "main", "2026-11-25T10:05:00.000Z"),
      call("verifier", 500),
      call("main", 61_500, 12_000, 50),
      ev("run.failed", { message: "boom" }),
    ]);
    expect(usage.total).toEqual({ calls: 5, inputTokens: 27_000, outputTokens: 750, latencyMs: 68_000, callsWithTokens: 4 });
    expect(usage.runs.map((r) => [r.run, r.resumed, r.calls, r.ended])).toEqual([
      [1, false, 3, "interrupted"],
      [2, true, 2, "failed"],
    ]);
    expect(usage.agents.map((a) => [a.agent, a.calls, a.inputTokens])).toEqual([
      ["main", 2, 21_000],
      ["researcher", 2, 6000],
      ["verifier", 1, 0],
    ]);
    const text = show({ usage });
    expect(text).toContain(
      [
        "model usage: 5 model calls, 1 m 8 s with the model, 27,000 in / 750 out tokens (reported for 4 of 5 calls)",
        "  by run:",
        "    run 1 2026-11-25 10:00:00           3 calls     15,000 in      700 out     6.0 s  interrupted",
        "    run 2 2026-11-25 10:05:00 resume    2 calls     12,000 in       50 out   1 m 2 s  failed",
        "  by agent:",
        "    main                                2 calls     21,000 in      150 out   1 m 3 s",
        "    researcher                          2 calls      6,000 in      600 out     5.0 s",
        "    verifier                            1 call        tokens not reported     0.5 s",
        "",
        "events: 9",
      ].join("\n"),
    );
  });
});
