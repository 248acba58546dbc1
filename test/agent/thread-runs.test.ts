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
  expect((await showThread(world.backbone, "pause")).status).toBe("interrupted");

  const vw2 = await createVibewriter({ backbone: world.backbone, threadId: "pause", model: script(), sandbox, tools: [askOwner] });
  const done = await vw2.resume({ answer: "yes" });
  expect(done.status).toBe(RunStatus.Completed);
  expect(done.finalMessage).toBe("done: owner said: yes");
  expect((await showThread(world.backbone, "pause")).status).toBe("completed");
});

it("the same task run twice on one thread is two turns, not one overwritten", async () => {
  const model = createScriptedModel({ main: ({ turn }) => ({ text: `answer ${turn}` }) });
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "twice", model, sandbox: await world.sandbox("twice") });
  expect((await vw.run("same question")).finalMessage).toBe("answer 0");
  expect((await vw.run("same question")).finalMessage).toBe("answer 1");
  const state = await vw.agent.graph.getState({ configurable: { thread_id: "twice" } } as never);
  expect((state.values as { messages: unknown[] }).messages).toHaveLength(4);
});
