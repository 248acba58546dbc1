import type { AgentBackbone } from "../../src/agent/ports.ts";
import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { VmPool } from "../../src/app/vm-pool.ts";
import { workspacePrefix } from "../../src/sandbox/ports.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { closeTestPool, getTestPool } from "../support/vm.ts";
import { memoryWorkspace } from "./memory-workspace.ts";

let nats: TestNats;
let vms: VmPool;
beforeAll(async () => {
  vms = new VmPool({ pool: await getTestPool() }); // the test pool's VMs; its close is closeTestPool's
  nats = await startTestNats();
});
afterAll(async () => {
  await closeTestPool();
  await nats?.close();
});

it("an agent built from ports only saves its thread's /workspace through the workspace port", async () => {
  // The agent's ports, picked off the NATS backbone one by one: no Backbone object goes in.
  const ports: AgentBackbone = { checkpointer: nats.backbone.checkpointer, store: nats.backbone.store, blobs: nats.backbone.blobs, events: nats.backbone.events };
  const workspace = memoryWorkspace();
  const model = createScriptedModel({
    main: ({ turn }) => [[{ name: "write_file", args: { file_path: "/workspace/notes.md", content: "saved through a port\n" } }], { text: "written" }][turn],
  });
  const vw = await createVibewriter({ backbone: ports, sandboxes: vms.sandboxes(workspace), threadId: "ports-only", model });
  try {
    expect((await vw.run("write a note")).status).toBe("completed");
  } finally {
    await vw.close();
  }
  const saved = workspace.blobs.get(`${workspacePrefix("ports-only")}notes.md`);
  expect(saved && new TextDecoder().decode(saved)).toBe("saved through a port\n");
});
