import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { VmPool } from "../../src/app/vm-pool.ts";
import type { WorkspaceStore } from "../../src/sandbox/ports.ts";
import { memoryWorkspace } from "./memory-workspace.ts";

it("a workspace store that lacks a capability is refused when handed over, not found out when a save is lost", () => {
  const { delete: _delete, blobs: _blobs, ...noDelete } = memoryWorkspace();
  // @ts-expect-error: a WorkspaceStore must delete (files removed in the VM are removed from the store)
  const half: WorkspaceStore = noDelete;
  expect(() => new VmPool({ env: {} }).sandboxes(half)).toThrow("the workspace store lacks delete(): it cannot be used as a port");
});

it("an agent given neither a sandbox nor the sandboxes to open one from is refused before anything starts", async () => {
  const backbone = {} as never; // refused before the backbone is touched
  await expect(createVibewriter({ backbone, threadId: "no-sandbox", model: createScriptedModel({ main: () => undefined }) })).rejects.toThrow(/give a sandbox, or the sandboxes/);
});
