import { createHash } from "node:crypto";
import { EventType } from "../../src/nats/event-types.ts";
import { SystemMessage } from "@langchain/core/messages";
import { createScriptedModel, messageText } from "../../src/agent/scripted-model.ts";
import { createVibewriter, MEMORY_FILE, MEMORY_NAMESPACE } from "../../src/agent/vibewriter.ts";
import { openOnConnection } from "../../src/nats/backbone.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world?.close();
});

const FACT = "Northwind's lender waiver expires on June 30, 2026 - check it first.";

it("a fact written to /memories/ in one thread is read in a new thread after a restart", async () => {
  // Process 1, thread A: write the memory through the agent's file tools.
  const nc1 = await connectNats({ url: world.nats.server.url, name: "process-1" });
  const b1 = await openOnConnection(nc1);
  const writer = createScriptedModel({
    main: ({ turn }) =>
      [
        [
          { name: "write_file", args: { file_path: "/memories/northwind.md", content: `${FACT}\n` } },
          { name: "write_file", args: { file_path: MEMORY_FILE, content: `# Lessons\n- ${FACT}\n` } },
        ],
        { text: "remembered" },
      ][turn],
  });
  const a = await createVibewriter({ backbone: b1, threadId: "memory-a", model: writer, sandbox: await world.sandbox("memory-a") });
  expect((await a.run("remember the waiver date")).status).toBe("completed");
  // Each memory change is on the thread's record, with its size and hash.
  const changes = await b1.events.history("memory-a", { types: [EventType.MemoryChanged] });
  const sha = (t: string) => createHash("sha256").update(t).digest("hex");
  expect(changes.map((e) => e.data)).toEqual([
    { path: "/memories/northwind.md", op: "write", bytes: Buffer.byteLength(`${FACT}\n`), sha256: sha(`${FACT}\n`) },
    { path: MEMORY_FILE, op: "write", bytes: Buffer.byteLength(`# Lessons\n- ${FACT}\n`), sha256: sha(`# Lessons\n- ${FACT}\n`) },
  ]);
  await a.close();
  await nc1.drain();

  // Process 2 (new connection, new backbone objects, same server), thread B with a new sandbox.
  const nc2 = await connectNats({ url: world.nats.server.url, name: "process-2" });
  try {
    const b2 = await openOnConnection(nc2);
    const reader = createScriptedModel({
      main: ({ turn, results }) => {
        if (turn === 0) return [{ name: "read_file", args: { file_path: "/memories/northwind.md" } }];
        return { text: `read: ${results[0]}` };
      },
    });
    const b = await createVibewriter({
      backbone: b2,
      threadId: "memory-b",
      model: reader,
      sandbox: await world.sandbox("memory-b"),
    });
    const result = await b.run("what do you remember?");
    expect(result.finalMessage).toContain(FACT);
    // AGENTS.md under /memories/ is loaded into the new thread's system prompt too.
    const calls = (reader as unknown as { calls: Array<{ messages: unknown[] }> }).calls;
    const systemPrompt = calls.map((c) => c.messages.filter((m) => SystemMessage.isInstance(m as SystemMessage)).map((m) => messageText(m as SystemMessage)).join("\n")).join("\n");
    expect(systemPrompt).toContain(FACT);
    // It lives in the NATS store, not in any VM.
    const item = await b2.store.get([...MEMORY_NAMESPACE], "/northwind.md");
    expect(JSON.stringify(item?.value)).toContain("waiver expires");
    await b.close();
  } finally {
    await nc2.drain();
  }
});
