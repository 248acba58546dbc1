import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph-checkpoint";
import type { SandboxBackendProtocolV2 } from "deepagents";
import { agentBackbone } from "../../../src/agent/backbone.ts";
import type { AgentBackbone } from "../../../src/agent/ports.ts";
import { startTestNats, type TestNats } from "../../support/nats.ts";
import { DevSandbox } from "./dev-sandbox.ts";

/**
 * The agent tests' world: a real nats-server (events and artifacts in JetStream) and a sandbox per
 * thread. Until the JetStream store and the microVM test kit are complete, the store falls back
 * to LangGraph's in-memory one and the sandbox to DevSandbox.
 */
export interface AgentWorld {
  nats: TestNats;
  backbone: AgentBackbone;
  sandbox(threadId: string): Promise<SandboxBackendProtocolV2 & { root?: string; executed?: string[] }>;
  close(): Promise<void>;
}

export async function startAgentWorld(): Promise<AgentWorld> {
  const nats = await startTestNats();
  const roots: string[] = [];
  const real = agentBackbone(nats.backbone);
  const storeReady = await real.store.batch([]).then(() => true, () => false);
  const backbone: AgentBackbone = { ...real, ...(storeReady ? {} : { store: new InMemoryStore() }) };
  return {
    nats,
    backbone,
    async sandbox() {
      const root = await mkdtemp(join(tmpdir(), "vw-sbx-"));
      roots.push(root);
      return new DevSandbox(root);
    },
    async close() {
      for (const r of roots) await rm(r, { recursive: true, force: true });
      await nats.close();
    },
  };
}
