import type { SandboxBackendProtocolV2 } from "deepagents";
import type { AgentBackbone } from "../../../src/agent/ports.ts";
import { MicroVMBackend } from "../../../src/sandbox/backend.ts";
import { startTestNats, type TestNats } from "../../support/nats.ts";
import { acquireTestVm, closeTestPool, getTestPool } from "../../support/vm.ts";

/**
 * The agent tests' world: a real nats-server with the real backbone (JetStream checkpointer, KV
 * store, Object Store, event stream) and real microVM sandboxes restored from the test pool's
 * template snapshot, each thread's /workspace persisted in the Object Store. Fails loudly when
 * nats-server, QEMU or the guest image is missing.
 */
export interface AgentWorld {
  nats: TestNats;
  backbone: AgentBackbone;
  /** A new MicroVMBackend on a fresh VM for the thread (its saved /workspace restored). */
  sandbox(threadId: string): Promise<MicroVMBackend>;
  close(): Promise<void>;
}

export async function startAgentWorld(): Promise<AgentWorld> {
  await getTestPool(); // boots/loads the template first: a missing QEMU or image fails here, clearly
  const nats = await startTestNats();
  const backbones: MicroVMBackend[] = [];
  return {
    nats,
    backbone: nats.backbone,
    async sandbox(threadId: string) {
      const b = await MicroVMBackend.create({
        threadId,
        vm: await acquireTestVm(),
        provider: acquireTestVm,
        store: nats.backbone.blobs,
      });
      backbones.push(b);
      return b;
    },
    async close() {
      for (const b of backbones) await b.close().catch(() => {});
      await closeTestPool();
      await nats.close();
    },
  };
}

/** A file's text inside a sandbox, or null when it does not exist. */
export async function sandboxText(sandbox: SandboxBackendProtocolV2, path: string): Promise<string | null> {
  const [r] = await sandbox.downloadFiles!([path]);
  if (!r || r.error || !r.content) return null;
  return new TextDecoder().decode(r.content);
}
