import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemoryStore, MemorySaver } from "@langchain/langgraph-checkpoint";
import { agentBackbone } from "../../src/agent/backbone.ts";
import { DEMO_TASK, scriptedDemoModel } from "../../src/agent/demo-model.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import type { VibewriterEvent } from "../../src/agent/events.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { DevSandbox } from "./support/dev-sandbox.ts";

let nats: TestNats;
let root: string;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.close();
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vw-dev-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

it("dev: the scripted demo publishes a verified report", async () => {
  const backbone = { ...agentBackbone(nats.backbone), store: new InMemoryStore() };
  const seen: VibewriterEvent[] = [];
  const vw = await createVibewriter({
    backbone,
    threadId: "dev-demo",
    model: scriptedDemoModel(),
    sandbox: new DevSandbox(root),
    sourcesDir: SAMPLES_DIR,
    onEvent: (e) => seen.push(e),
  });
  const result = await vw.run(DEMO_TASK);
  console.log(result.finalMessage);
  console.log(seen.map((e) => `${e.agent} ${e.type} ${JSON.stringify(e.data).slice(0, 100)}`).join("\n"));
  expect(result.report).toBeDefined();
});
