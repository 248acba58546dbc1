import type { SandboxBackendProtocolV2 } from "deepagents";
import type { Backbone } from "../nats/index.ts";
import { AgentError, AgentErrorCode } from "./errors.ts";
import type { AgentBackbone } from "./ports.ts";

/**
 * The default sandbox for a thread: a MicroVMBackend from the VM pool, with the thread's
 * /workspace restored from the Object Store. Never shared with another thread.
 */
export async function openThreadSandbox(threadId: string, _backbone: Backbone | AgentBackbone): Promise<SandboxBackendProtocolV2 & { close?: () => Promise<void> }> {
  throw new AgentError(
    AgentErrorCode.SandboxSetup,
    `no sandbox for thread ${threadId}: the microVM backend is not available yet; pass \`sandbox\` explicitly`,
  );
}
