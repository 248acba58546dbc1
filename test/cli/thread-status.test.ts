/**
 * `threads`, `show` and `events` tell how each thread stands and what its model calls cost, against
 * a real nats-server: the events are published to the real event log and the pending interrupts
 * written to the real JetStream checkpointer, as a run leaves them (no agent, no VM).
 */
import { uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { NewEvent, VibewriterEvent } from "../../src/nats/event-types.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";

let seq = 0;
/** Events one second apart from 10:00:00, in the order of the calls. */
const ev = (type: VibewriterEvent["type"], data: Record<string, unknown>, agent = "main"): NewEvent =>
  ({ id: `s:${seq}`, type, agent, at: new Date(Date.UTC(2026, 10, 25, 10, 0, seq++)).toISOString(), data }) as NewEvent;
const call = (agent: string, latencyMs: number, tokens?: [number, number]) =>
  ev("model.call", { model: "gpt-4o-mini", latencyMs, toolCalls: 1, ...(tokens ? { inputTokens: tokens[0], outputTokens: tokens[1] } : {}) }, agent);

const LONG = "x".repeat(300);

describe("thread status and usage in threads, show, events", () => {
  let nats: TestNats;
  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url });
  const cli = async (...args: string[]) => {
    const io = captureIo(env());
    const code = await main(args, io);
    return { code, out: io.out(), err: io.err() };
  };
  const publish = async (threadId: string, events: NewEvent[]) => {
    for (const e of events) await nats.backbone.events.publish(threadId, e);
  };
  /** A checkpoint with the run's pending interrupts, as LangGraph records them on the main graph. */
  const pause = async (threadId: string, ...values: unknown[]) => {
    const checkpoint: Checkpoint = { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: { todos: [] }, channel_versions: { todos: 1 }, versions_seen: {} };
    const saver = nats.backbone.checkpointer;
    const cfg = await saver.put({ configurable: { thread_id: threadId, checkpoint_ns: "" } }, checkpoint, { source: "loop", step: 1, parents: {} }, { todos: 1 });
    await saver.putWrites(cfg, [["__interrupt__", values.map((value, i) => ({ id: `int-${i}`, value }))]], "task-tools-1");
  };

  beforeAll(async () => {
    nats = await startTestNats();
    await publish("st-done", [
      ev("run.started", { task: "Due diligence on ACME" }),
      ev("model.started", { model: "gpt-4o-mini" }),
      call("main", 1500, [9000, 120]),
      ev("subagent.started", { subagent: "researcher", callId: "c1" }),
      call("researcher", 2500, [4000, 300]),
      call("researcher", 3000, [5000, 400]),
      ev("subagent.finished", { subagent: "researcher", callId: "c1", status: "ok" }),
      call("publisher", 700), // a provider that reports no tokens
      ev("report.published", { artifact: "threads/st-done/report.md", sha256: "0", bytes: 10, citations: 1, sources: [] }),
      ev("run.finished", { status: "completed", report: "threads/st-done/report.md", todos: 2 }),
    ]);
    await publish("st-incomplete", [
      ev("run.started", { task: "Write it up" }),
      call("main", 900, [2000, 10]),
      ev("run.finished", { status: "incomplete", report: null, todos: 3, reason: "the agent stopped without publishing a report, with 2 of 3 planned steps not done" }),
    ]);
    await publish("st-failed", [
      ev("run.started", { task: "Fetch it" }),
      call("main", 1000, [1000, 10]),
      ev("run.finished", { status: "incomplete", reason: "no report" }),
      // A resume that failed: the last run decides the status.
      ev("run.started", { resumed: true, checkpoint: "c1" }),
      ev("run.failed", { message: `\n429 Too Many Requests: rate limited ${LONG}\n    at fetch (/home/someone/src/client.js:1:1)` }),
    ]);
    await publish("st-pay", [ev("run.started", { task: "Buy the dataset" }), call("main", 800, [3000, 30]), ev("run.finished", { status: "interrupted", report: null, todos: 0 })]);
    await pause("st-pay", {
      kind: "payment_approval",
      proposalId: "pay-abc",
      destination: "GDEST",
      asset: "XLM",
      amount: "30",
      memo: null,
      reason: "above the approval threshold of 20",
      approve: "vibewriter approve pay-abc",
      reject: "vibewriter reject pay-abc",
    });
    await publish("st-budget", [
      ev("run.started", { task: "Long research" }),
      call("main", 400, [100, 1]),
      call("main", 400, [100, 1]),
      call("main", 400, [100, 1]),
      ev("run.finished", { status: "interrupted", report: null, todos: 0 }),
    ]);
    await pause("st-budget", {
      kind: "budget_exhausted",
      reason: "the run has made 3 model calls (limit 3)",
      calls: 3,
      tokens: 303,
      maxCalls: 3,
      maxTokens: 1000,
      resume: "vibewriter resume st-budget --max-model-calls 6 --max-tokens 2000",
    });
  });
  afterAll(async () => {
    await nats?.close();
  });

  it("threads lists each status with its reason under it, and the model calls and tokens", async () => {
    const { code, out } = await cli("threads");
    expect(code).toBe(0);
    expect(out.split("\n")[0]).toMatch(/^THREAD\s+STATUS\s+UPDATED\s+REPORT\s+CALLS\s+TOKENS\s+TASK$/);
    expect(out).toMatch(/\nst-done\s+completed\s+2026-11-25 10:00:09\s+yes\s+4\s+18.8k\s+Due diligence on ACME\n(?!\s+↳)/);
    expect(out).toMatch(
      /\nst-incomplete\s+incomplete\s+\S+ \S+\s+-\s+1\s+2.0k\s+Write it up\n\s+↳ the agent stopped without publishing a report, with 2 of 3 planned steps not done\n/,
    );
    expect(out).toMatch(/\nst-failed\s+failed\s+\S+ \S+\s+-\s+1\s+1.0k\s+Fetch it\n\s+↳ 429 Too Many Requests: rate limited x+…\n/);
    expect(out).not.toContain("/home/someone");
    expect(out).toMatch(/\nst-pay\s+interrupted .*\n\s+↳ waiting for payment approval \(30 XLM to GDEST, pay-abc\)\n/);
    expect(out).toMatch(/\nst-budget\s+interrupted .*\s+3\s+303\s+Long research\n\s+↳ waiting for a larger model budget \(the run has made 3 model calls \(limit 3\)\)\n/);
  });

  it("threads --json carries the reason and the usage", async () => {
    const { threads } = JSON.parse((await cli("threads", "--json")).out) as { threads: { threadId: string; status: string; reason?: string; usage: Record<string, number> }[] };
    const by = Object.fromEntries(threads.map((t) => [t.threadId, t]));
    expect(by["st-done"]).toMatchObject({ status: "completed", usage: { calls: 4, inputTokens: 18_000, outputTokens: 820, latencyMs: 7700, callsWithTokens: 3 } });
    expect(by["st-done"]!.reason).toBeUndefined();
    expect(by["st-incomplete"]).toMatchObject({ status: "incomplete", reason: expect.stringMatching(/^the agent stopped without publishing a report/) });
    expect(by["st-failed"]!.status).toBe("failed");
    expect(by["st-failed"]!.reason).toHaveLength(160);
    expect(by["st-failed"]!.reason).toMatch(/^429 Too Many Requests: rate limited x+…$/);
    expect(by["st-pay"]).toMatchObject({ status: "interrupted", reason: "waiting for payment approval (30 XLM to GDEST, pay-abc)" });
    expect(by["st-budget"]).toMatchObject({ status: "interrupted", reason: "waiting for a larger model budget (the run has made 3 model calls (limit 3))" });
  });

  it("show sums usage per run and per agent, and says how to continue", async () => {
    const done = await cli("show", "st-done");
    expect(done.code).toBe(0);
    expect(done.out).toMatch(/^thread st-done — completed\n/);
    expect(done.out).toContain("model usage: 4 model calls, 7.7 s with the model, 18,000 in / 820 out tokens (reported for 3 of 4 calls)\n");
    expect(done.out).toMatch(/ {2}by run:\n {4}run 1 2026-11-25 10:00:00\s+4 calls\s+18,000 in\s+820 out\s+7.7 s {2}completed\n/);
    expect(done.out).toMatch(
      / {2}by agent:\n {4}main\s+1 call\s+9,000 in\s+120 out\s+1.5 s\n {4}researcher\s+2 calls\s+9,000 in\s+700 out\s+5.5 s\n {4}publisher\s+1 call\s+tokens not reported\s+0.7 s\n/,
    );
    expect(done.out).not.toContain("next:");

    const failed = await cli("show", "st-failed");
    expect(failed.out).toMatch(/^thread st-failed — failed: 429 Too Many Requests: rate limited x+…\n/);
    expect(failed.out).toMatch(/run 1 \S+ \S+\s+1 call .* incomplete\n {4}run 2 \S+ \S+ resume\s+0 calls .* failed\n/);
    expect(failed.out).toContain("next:\n  continue it from its last saved step: vibewriter resume st-failed\n");

    const incomplete = await cli("show", "st-incomplete");
    expect(incomplete.out).toMatch(/^thread st-incomplete — incomplete: the agent stopped without publishing a report, with 2 of 3 planned steps not done\n/);
    expect(incomplete.out).toContain("next:\n  continue it (the agent is asked to finish what is missing): vibewriter resume st-incomplete\n");

    const pay = await cli("show", "st-pay");
    expect(pay.out).toMatch(/^thread st-pay — interrupted: waiting for payment approval \(30 XLM to GDEST, pay-abc\)\n/);
    expect(pay.out).toContain("next:\n  decide payment pay-abc: vibewriter approve pay-abc  or  vibewriter reject pay-abc\n  then continue it: vibewriter resume st-pay\n");

    const budget = await cli("show", "st-budget");
    expect(budget.out).toContain("next:\n  raise the model budget and continue: vibewriter resume st-budget --max-model-calls 6 --max-tokens 2000\n");
  });

  it("show --json carries the reason, what it waits for, the usage and the next steps", async () => {
    const d = JSON.parse((await cli("show", "st-budget", "--json")).out) as Record<string, unknown>;
    expect(d).toMatchObject({
      status: "interrupted",
      reason: "waiting for a larger model budget (the run has made 3 model calls (limit 3))",
      waitingFor: [{ kind: "budget_exhausted", resume: "vibewriter resume st-budget --max-model-calls 6 --max-tokens 2000" }],
      usage: { total: { calls: 3, inputTokens: 300, outputTokens: 3 }, runs: [{ run: 1, calls: 3, ended: "interrupted" }], agents: [{ agent: "main", calls: 3 }] },
      next: ["raise the model budget and continue: vibewriter resume st-budget --max-model-calls 6 --max-tokens 2000"],
    });
    const f = JSON.parse((await cli("show", "st-failed", "--json")).out) as Record<string, unknown>;
    expect(f).toMatchObject({ status: "failed", reason: expect.stringMatching(/^429 Too Many Requests/), next: ["continue it from its last saved step: vibewriter resume st-failed"] });
  });

  it("events prints model calls compactly and ends with the total; --json and threads without model calls do not", async () => {
    const { out } = await cli("events", "st-done");
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(11); // 10 events and the total
    expect(lines[1]).toBe("10:00:01 model.started gpt-4o-mini");
    expect(lines[2]).toBe("10:00:02 model.call gpt-4o-mini 1.5 s, 9,000 in / 120 out tokens, 1 tool call");
    expect(lines[4]).toBe("10:00:04 model.call [researcher] gpt-4o-mini 2.5 s, 4,000 in / 300 out tokens, 1 tool call");
    expect(lines[7]).toBe("10:00:07 model.call [publisher] gpt-4o-mini 0.7 s, tokens not reported, 1 tool call");
    expect(lines[9]).toBe("10:00:09 run.finished completed (report threads/st-done/report.md)");
    expect(lines[10]).toBe("total: 4 model calls (main 1, researcher 2, publisher 1), 7.7 s with the model, 18,000 in / 820 out tokens (reported for 3 of 4 calls)");

    const failed = (await cli("events", "st-failed")).out.trimEnd().split("\n");
    expect(failed.at(-2)).toMatch(/^\d\d:\d\d:\d\d run\.failed 429 Too Many Requests: rate limited x+…$/);
    expect(failed.at(-1)).toMatch(/^total: 1 model call,/);

    const json = (await cli("events", "st-done", "--json")).out.trimEnd().split("\n");
    expect(json).toHaveLength(10);
    expect(json.every((l) => typeof (JSON.parse(l) as { type?: unknown }).type === "string")).toBe(true);
  });
});
