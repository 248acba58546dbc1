import { childOutcome, childThreadId, readChildRecord, shareSources, writeChildRecord } from "../../src/agent/child-runs.ts";
import type { AgentBackbone } from "../../src/agent/ports.ts";
import { RunBudget } from "../../src/agent/run-budget.ts";
import { readSourceManifest, storeSources, sourceFromBytes, sourceInfo } from "../../src/agent/sources.ts";
import { childBudget, createDelegateTool, MAX_QUESTION_CHARS } from "../../src/agent/tools/delegate.ts";
import { createEmitter } from "../../src/agent/emitter.ts";
import { queuedChildRuns } from "../../src/cli/child-runs.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";
import { REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import { validateThreadId } from "../../src/agent/vibewriter.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

let nats: TestNats;
let b: AgentBackbone;
beforeAll(async () => {
  nats = await startTestNats();
  b = nats.backbone;
});
afterAll(async () => {
  await nats?.close();
});

const enc = (s: string) => new TextEncoder().encode(s);

it("names a child from (parent, tool call): the same call the same child, a valid thread id even under a 64-character parent", () => {
  const long = "p".repeat(64);
  const ids = [childThreadId(long, "call-1"), childThreadId(long, "call-2"), childThreadId("t-1", "call-1")];
  for (const id of ids) expect(() => validateThreadId(id)).not.toThrow();
  expect(new Set(ids).size).toBe(3);
  expect(childThreadId(long, "call-1")).toBe(ids[0]);
});

it("carves the child's budget from what the parent has left, and refuses when too little is left", () => {
  const budget = new RunBudget({ maxCalls: 40, maxTokens: 100_000 }, { calls: 10, inputTokens: 20_000, outputTokens: 0 });
  expect(childBudget(budget, undefined)).toEqual({ maxModelCalls: 10, maxTokens: 26_666 }); // a third of 30 calls, their share of 80k tokens
  expect(childBudget(budget, 50)).toEqual({ maxModelCalls: 30, maxTokens: 80_000 }); // never above the parent's remaining
  expect(childBudget(new RunBudget({ maxCalls: 12, maxTokens: 100_000 }, { calls: 9, inputTokens: 0, outputTokens: 0 }), undefined)).toBe(
    "this run has 3 model call(s) left; a child run needs at least 4. Answer the question yourself.",
  );
});

it("keeps the child's record, and gives it the parent's sources by reference", async () => {
  const source = await sourceFromBytes("notes.md", enc("# Notes\n\nThe plant opened in 2019.\n"));
  await storeSources(b.blobs, "rec-parent", [source]);
  expect(await shareSources(b.blobs, "rec-parent", "rec-child")).toBe(1);
  expect((await readSourceManifest(b.blobs, "rec-child")).map((s) => s.id)).toEqual([source.id]);
  expect(await readChildRecord(b.store, "rec-child")).toBeUndefined();
  const record = { child: "rec-child", parent: "rec-parent", question: "When did it open?", sources: "parent" as const, maxModelCalls: 9, maxTokens: 1000, allowNetwork: false, submittedAt: "2026-12-02T05:00:00.000Z" };
  await writeChildRecord(b.store, record);
  expect(await readChildRecord(b.store, "rec-child")).toEqual(record);
});

describe("a child's outcome, from its own log", () => {
  const finished = (thread: string, status: string, reason?: string) =>
    b.events.publish(thread, { type: EventType.RunFinished, data: { status: status as "completed", ...(reason ? { reason } : {}) } });

  it("is running until its log has an end, waiting while it is paused for its owner", async () => {
    await b.events.publish("out-run", { type: EventType.DelegatedFrom, data: { parent: "p", question: "q" } });
    expect(await childOutcome(b, "out-run")).toEqual({ state: "running" });
    await b.events.publish("out-run", { type: EventType.RunStarted, data: { task: "q" } });
    expect(await childOutcome(b, "out-run")).toEqual({ state: "running" });
    await finished("out-run", "interrupted");
    expect(await childOutcome(b, "out-run")).toEqual({ state: "waiting" });
  });

  it("failed: a run that crashed, or ended without its report", async () => {
    await b.events.publish("out-crash", { type: EventType.RunFailed, data: { message: "the sandbox died\nstack…" } });
    expect(await childOutcome(b, "out-crash")).toEqual({ state: "failed", status: "failed", reason: "the sandbox died" });
    await finished("out-none", "failed", "the agent stopped without publishing a report");
    expect(await childOutcome(b, "out-none")).toEqual({ state: "failed", status: "failed", reason: "the agent stopped without publishing a report" });
  });

  it("reported only when its report's citations verify against its own sources", async () => {
    const source = await sourceFromBytes("a.md", enc("Sales rose 4% in May.\n"));
    await storeSources(b.blobs, "out-ok", [source]);
    const report = `# May\n\n[[src:${source.id}|"Sales rose 4% in May."]]\n`;
    await b.blobs.put(REPORT_ARTIFACT("out-ok"), enc(report));
    await finished("out-ok", "completed");
    // With the sources it cites, to carry into the parent.
    expect(await childOutcome(b, "out-ok")).toEqual({ state: "reported", status: "completed", report, cited: [{ ...sourceInfo(source), text: source.text }] });

    // The same report stored for a thread without that source (an altered artifact): refused.
    await b.blobs.put(REPORT_ARTIFACT("out-forged"), enc(report));
    await finished("out-forged", "completed");
    expect(await childOutcome(b, "out-forged")).toEqual({
      state: "failed",
      status: "completed",
      reason: `its report's citations do not verify: line 3: source "${source.id}" is not a stored source`,
    });
  });
});

it("delegate refuses an empty or oversized question, and a run with too little budget left, before storing or queueing anything", async () => {
  const queue = await RunQueue.open(nats.backbone);
  const delegate = (budget: RunBudget) =>
    createDelegateTool({
      threadId: "refusing",
      backbone: b,
      backend: {} as never, // never reached: each call is refused first
      sources: {} as never,
      emit: createEmitter(b, "refusing"),
      childRuns: queuedChildRuns(queue, b.store),
      budget,
      allowNetwork: false,
      skillDirs: [],
    });
  const roomy = new RunBudget({ maxCalls: 100, maxTokens: 1_000_000 });
  const call = async (budget: RunBudget, question: string, id: string) =>
    String((await delegate(budget).invoke({ id, name: "delegate", args: { question }, type: "tool_call" })).content);
  expect(await call(roomy, "   ", "c1")).toBe("Error: the question is empty; no child run was started.");
  expect(await call(roomy, "x".repeat(MAX_QUESTION_CHARS + 1), "c2")).toBe(
    `Error: the question is ${MAX_QUESTION_CHARS + 1} characters; at most ${MAX_QUESTION_CHARS}. Ask it shortly; the child can read this run's sources (sources: "parent"). No child run was started.`,
  );
  expect(await call(new RunBudget({ maxCalls: 10, maxTokens: 1_000_000 }, { calls: 7, inputTokens: 0, outputTokens: 0 }), "Who?", "c3")).toBe(
    "Error: this run has 3 model call(s) left; a child run needs at least 4. Answer the question yourself.",
  );
  expect(await queue.depth()).toBe(0);
  for (const id of ["c1", "c2", "c3"]) expect(await readChildRecord(b.store, childThreadId("refusing", id))).toBeUndefined();
  expect(await b.events.history("refusing")).toEqual([]);
});
