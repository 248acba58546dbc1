import { tool } from "@langchain/core/tools";
import { interrupt } from "@langchain/langgraph";
import { z } from "zod";
import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { createVibewriter, RunStatus } from "../../src/agent/vibewriter.ts";
import { showThread } from "../../src/agent/threads.ts";
import { startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world?.close();
});

// A host tool that needs a human decision, as the wallet's propose_payment does above its threshold.
const askOwner = tool(
  async ({ question }) => {
    const answer = interrupt({ kind: "question", question }) as { answer: string };
    return `owner said: ${answer.answer}`;
  },
  { name: "ask_owner", description: "Ask the owner", schema: z.object({ question: z.string() }) },
);

const script = () =>
  createScriptedModel({
    main: ({ turn, results }) =>
      [[{ name: "ask_owner", args: { question: "Pay 10 XLM?" } }], { text: `done: ${results[0]}` }][turn],
  });

it("a run that pauses for the owner reports it, and continues in a new process with the answer", async () => {
  const sandbox = await world.sandbox("pause");
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "pause", model: script(), sandbox, tools: [askOwner] });
  const paused = await vw.run("ask first");
  expect(paused.status).toBe(RunStatus.Interrupted);
  expect(JSON.stringify(paused.interrupts)).toContain("Pay 10 XLM?");
  const shown = await showThread(world.backbone, "pause");
  expect(shown.status).toBe("interrupted");
  // What it waits for comes from the interrupt pending on the checkpoint.
  expect(shown.waitingFor).toEqual([{ kind: "other", value: '{"kind":"question","question":"Pay 10 XLM?"}' }]);
  expect(shown.reason).toBe('waiting for the owner ({"kind":"question","question":"Pay 10 XLM?"})');

  const vw2 = await createVibewriter({ backbone: world.backbone, threadId: "pause", model: script(), sandbox, tools: [askOwner] });
  const done = await vw2.resume({ answer: "yes" });
  expect(done.status).toBe(RunStatus.Completed);
  expect(done.finalMessage).toBe("done: owner said: yes");
  const done2 = await showThread(world.backbone, "pause");
  expect(done2.status).toBe("completed");
  expect(done2.reason).toBeUndefined();
  expect(done2.usage.runs.map((r) => [r.run, r.resumed, r.calls, r.ended])).toEqual([
    [1, false, 1, "interrupted"],
    [2, true, 1, "completed"],
  ]);
});

it("two runners resuming from the same checkpoint (a takeover) each log their run.started", async () => {
  const sandbox = await world.sandbox("same-point");
  const first = await createVibewriter({ backbone: world.backbone, threadId: "same-point", model: script(), sandbox, tools: [askOwner] });
  expect((await first.run("ask first")).status).toBe(RunStatus.Interrupted);
  const runner = (id: string, takenOver: boolean) => ({ info: { kind: "worker" as const, id, host: "h", pid: 1 }, takenOver });
  // Each resumes without the answer: the step asks again and stops where it was.
  for (const [id, takenOver] of [["worker-a", false], ["worker-b", true]] as const) {
    const vw = await createVibewriter({ backbone: world.backbone, threadId: "same-point", model: script(), sandbox, tools: [askOwner], runner: runner(id, takenOver) });
    expect((await vw.resume()).status).toBe(RunStatus.Interrupted);
  }
  const starts = (await world.nats.backbone.events.history("same-point", { types: ["run.started"] })).map((e) => e.data as { checkpoint?: string; runner?: { id: string } });
  expect(starts.map((d) => d.runner?.id)).toEqual([undefined, "worker-a", "worker-b"]);
  expect(starts[1]!.checkpoint).toBe(starts[2]!.checkpoint);
});

it("the same task run twice on one thread is two turns, not one overwritten", async () => {
  const model = createScriptedModel({ main: ({ turn }) => ({ text: `answer ${turn}` }) });
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "twice", model, sandbox: await world.sandbox("twice") });
  expect((await vw.run("same question")).finalMessage).toBe("answer 0");
  expect((await vw.run("same question")).finalMessage).toBe("answer 1");
  const state = await vw.agent.graph.getState({ configurable: { thread_id: "twice" } } as never);
  expect((state.values as { messages: unknown[] }).messages).toHaveLength(4);
});

it("a subagent that hits the model budget: show says the thread waits for a larger budget, and how much each agent used", async () => {
  const script = () =>
    createScriptedModel({
      main: ({ turn }) => [[{ name: "task", args: { subagent_type: "researcher", description: "List the workspace." } }], { text: "all done" }][turn],
      researcher: ({ turn }) => [[{ name: "ls", args: { path: "/workspace" } }], { text: "nothing there" }][turn],
    });
  const sandbox = await world.sandbox("budget-show");
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "budget-show", model: script(), sandbox, budget: { maxCalls: 2, maxTokens: 1_000_000 } });
  expect((await vw.run("look around")).status).toBe(RunStatus.Interrupted);

  const paused = await showThread(world.backbone, "budget-show");
  expect(paused.status).toBe("interrupted");
  expect(paused.waitingFor).toEqual([
    { kind: "budget_exhausted", reason: "the run has made 2 model calls (limit 2)", resume: "vibewriter resume budget-show --max-model-calls 4 --max-tokens 2000000" },
  ]);
  expect(paused.reason).toBe("waiting for a larger model budget (the run has made 2 model calls (limit 2))");
  expect(paused.usage.agents.map((a) => [a.agent, a.calls])).toEqual([
    ["main", 1],
    ["researcher", 1],
  ]);
  expect(paused.usage.total.latencyMs).toBeGreaterThanOrEqual(0);

  const raised = await createVibewriter({ backbone: world.backbone, threadId: "budget-show", model: script(), sandbox, budget: { maxCalls: 10, maxTokens: 1_000_000 } });
  expect((await raised.resume()).status).toBe(RunStatus.Completed);
  const done = await showThread(world.backbone, "budget-show");
  expect(done.status).toBe("completed");
  expect(done.waitingFor).toBeUndefined();
  expect(done.usage.runs.map((r) => [r.run, r.calls, r.ended])).toEqual([
    [1, 2, "interrupted"],
    [2, 2, "completed"],
  ]);
  expect(done.usage.agents.map((a) => [a.agent, a.calls])).toEqual([
    ["main", 2],
    ["researcher", 2],
  ]);
});
