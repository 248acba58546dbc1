import { ToolMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { BaseCheckpointSaver, PendingWrite } from "@langchain/langgraph-checkpoint";
import { errors } from "@nats-io/transport-node";
import { AgentErrorCode } from "../../src/agent/errors.ts";
import { journalNamespace } from "../../src/agent/middleware/effect-journal.ts";
import { EventType, eventOf, type VibewriterEvent } from "../../src/nats/event-types.ts";
import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { sandboxText, startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world?.close();
});

/** The real saver, except that the process "dies" when the tool node's results are about to be saved. */
function dyingAfterEffect(inner: BaseCheckpointSaver): BaseCheckpointSaver {
  let dead = false; // once "dead", nothing more reaches the store, as after a SIGKILL
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "putWrites") {
        return async (config: RunnableConfig, writes: PendingWrite[], taskId: string) => {
          const executeResult = writes.some(([, v]) => [v].flat().some((m) => ToolMessage.isInstance(m as ToolMessage) && (m as ToolMessage).name === "execute"));
          if (executeResult) dead = true;
          if (dead) throw new Error("simulated crash: process died before the tool's result was saved");
          return target.putWrites(config, writes, taskId);
        };
      }
      if (prop === "put") {
        return async (...args: Parameters<BaseCheckpointSaver["put"]>) => {
          if (dead) throw new Error("simulated crash: process is dead");
          return target.put(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const script = () =>
  createScriptedModel({
    main: ({ turn, results }) =>
      [[{ name: "execute", args: { command: "echo ran >> /workspace/count.txt && wc -l < /workspace/count.txt" } }], { text: `count: ${results[0]}` }][turn],
  });

it("a side effect interrupted before its checkpoint does not run again on resume", async () => {
  const first = await world.sandbox("journal");
  const crashing = { ...world.backbone, checkpointer: dyingAfterEffect(world.backbone.checkpointer) };
  const vw1 = await createVibewriter({ backbone: crashing, threadId: "journal", model: script(), sandbox: first });
  const err = await vw1.run("count once").then(() => undefined, (e: { code?: string; message: string }) => e);
  expect(err?.code).toBe(AgentErrorCode.RunFailed);
  expect(err?.message).toContain("vibewriter resume journal");
  expect(await sandboxText(first, "/workspace/count.txt")).toBe("ran\n"); // the effect happened once
  await first.close(); // the "dead" process's VM goes with it

  // "Restart": new model, new agent, a new VM with the thread's /workspace restored, the real saver.
  const second = await world.sandbox("journal");
  expect(await sandboxText(second, "/workspace/count.txt")).toBe("ran\n");
  const seen: VibewriterEvent[] = [];
  const vw2 = await createVibewriter({ backbone: world.backbone, threadId: "journal", model: script(), sandbox: second, onEvent: (e) => seen.push(e) });
  const snap = await vw2.agent.graph.getState({ configurable: { thread_id: "journal" } } as never);
  expect(snap.next).toEqual(["tools"]); // the crash left the tool step to be re-run
  const result = await vw2.resume();
  expect(result.status).toBe("completed");
  const replay = seen.filter(eventOf(EventType.ToolFinished)).find((e) => e.data.tool === "execute");
  expect(replay?.data.replayed).toBe(true); // answered from the journal, not run
  expect(await sandboxText(second, "/workspace/count.txt")).toBe("ran\n");
  expect(result.finalMessage).toContain("count: 1");
});

it("a call that failed because its VM was gone runs again on resume, not replayed as an error", async () => {
  const dead = await world.sandbox("journal-vm-died");
  const crashing = { ...world.backbone, checkpointer: dyingAfterEffect(world.backbone.checkpointer) };
  const vw1 = await createVibewriter({ backbone: crashing, threadId: "journal-vm-died", model: script(), sandbox: dead });
  await dead.close(); // the thread's VM dies before the call
  const err = await vw1.run("count once").then(() => undefined, (e: { code?: string }) => e);
  expect(err?.code).toBe(AgentErrorCode.RunFailed);

  const second = await world.sandbox("journal-vm-died");
  const seen: VibewriterEvent[] = [];
  const vw2 = await createVibewriter({ backbone: world.backbone, threadId: "journal-vm-died", model: script(), sandbox: second, onEvent: (e) => seen.push(e) });
  const result = await vw2.resume();
  expect(result.status).toBe("completed");
  const ran = seen.filter(eventOf(EventType.ToolFinished)).find((e) => e.data.tool === "execute");
  expect(ran?.data.replayed).toBeUndefined(); // really run, in the new VM
  expect(ran?.data.status).toBe("ok");
  expect(await sandboxText(second, "/workspace/count.txt")).toBe("ran\n");
  expect(result.finalMessage).toContain("count: 1");
});

it("an effect's record is written through a NATS outage (the cluster electing a leader), so a resume never runs it again", async () => {
  // The real store, except that the first two journal writes get no answer from NATS, as while a
  // cluster elects a new leader after a node died.
  let refused = 0;
  const inner = world.backbone.store;
  const electing = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "put") {
        return async (ns: string[], key: string, value: Record<string, unknown>) => {
          if (ns.join("/") === journalNamespace("journal-outage").join("/") && refused < 2) {
            refused++;
            throw new errors.TimeoutError();
          }
          return target.put(ns, key, value);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const sandbox = await world.sandbox("journal-outage");
  try {
    const vw = await createVibewriter({ backbone: { ...world.backbone, store: electing }, threadId: "journal-outage", model: script(), sandbox });
    const result = await vw.run("count once");
    expect(result.status).toBe("completed");
    expect(refused).toBe(2);
    const records = await inner.search(journalNamespace("journal-outage"));
    expect(records.map((r) => (r.value as { name?: string }).name)).toEqual(["execute"]);
    expect(await sandboxText(sandbox, "/workspace/count.txt")).toBe("ran\n");
  } finally {
    await sandbox.close();
  }
});
