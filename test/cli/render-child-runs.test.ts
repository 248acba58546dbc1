import { renderResult } from "../../src/cli/commands/run.ts";
import { nextSteps, renderThread } from "../../src/cli/commands/threads.ts";
import { threadUsage } from "../../src/agent/threads.ts";

const usage = { calls: 1, inputTokens: 10, outputTokens: 2 };

describe("child runs in run, show and their next steps", () => {
  it("a run paused on its child runs says so, and that a worker resumes it", () => {
    const text = renderResult({
      threadId: "t-p",
      status: "interrupted",
      todos: [],
      finalMessage: "",
      usage,
      interrupts: [{ value: { kind: "child_run", child: "t-p-d-0123456789ab", question: "Who audits?" } }],
    });
    expect(text).toContain("  waiting for child run t-p-d-0123456789ab: a worker resumes this run when it ends\n");
  });

  it("show: a parent lists its children with how each ended; a child names its parent", () => {
    const base = { threadId: "t-p", task: "x", todos: [], files: [], events: 5, usage: threadUsage([]) };
    const parent = renderThread({
      ...base,
      status: "interrupted",
      reason: "waiting for child run t-p-d-2",
      waitingFor: [{ kind: "child_run", child: "t-p-d-2", question: "Second?" }],
      children: [
        { threadId: "t-p-d-1", question: "First?", ended: { status: "completed", source: "abcdef012345" } },
        { threadId: "t-p-d-2", question: "Second?" },
        { threadId: "t-p-d-3", question: "Third?", ended: { status: "failed", reason: "no report" } },
      ],
    });
    expect(parent).toContain(
      "child runs:\n" +
        "  t-p-d-1  completed, report stored as source abcdef012345  First?\n" +
        "  t-p-d-2  running  Second?\n" +
        "  t-p-d-3  failed: no report  Third?\n",
    );
    expect(parent).toContain("next:\n  nothing to do: a worker resumes it when child run t-p-d-2 ends (see `vibewriter show t-p-d-2`)\n");
    expect(renderThread({ ...base, threadId: "t-p-d-1", status: "completed", parent: "t-p" })).toContain("task: x\nchild run of: t-p\n");
    expect(nextSteps({ threadId: "t-p", status: "interrupted", waitingFor: [] })).toEqual(["continue it: vibewriter resume t-p"]);
  });
});
