import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph-checkpoint";
import type { EventLog } from "../nats/index.ts";
import type { SandboxBackendProtocolV2 } from "deepagents";
import type { ReplacementSetup, ThreadSandboxNotice } from "../sandbox/index.ts";

/**
 * What the agent needs from the NATS backbone, as a narrow contract. The backbone `openBackbone()`
 * opens (`src/nats`) is one as it is (its `blobs` is the Object Store behind `ArtifactPort`); a
 * test may pass its own. Keeping the agent on this port means a change in the backbone's wider API
 * touches `src/nats`, not the agent.
 */
export interface AgentBackbone {
  /** LangGraph checkpoints (the JetStream saver). */
  checkpointer: BaseCheckpointSaver;
  /** Long-term memory and the effect journal (the JetStream KV store). */
  store: BaseStore;
  /** The Object Store, by name (`Backbone.blobs`). */
  blobs: ArtifactPort;
  events: EventPort;
}

/** The Object Store, by name. `get` resolves to `null` for a missing artifact. */
export interface ArtifactPort {
  put(name: string, data: Uint8Array): Promise<void>;
  get(name: string): Promise<Uint8Array | null>;
  /** Names under a prefix. */
  list(prefix: string): Promise<string[]>;
}

/** The thread event log: the backbone's `EventLog` (publish is acked and deduplicated by event id). */
export type EventPort = Pick<EventLog, "publish" | "history" | "subscribe" | "threads">;

/**
 * Where a thread's sandbox comes from when the caller gives none: a VM from the process's pool,
 * its /workspace saved to and restored from the store the composition root chose
 * (`src/app/vm-pool.ts`). `close()` on the sandbox kills its VM.
 */
export interface SandboxPort {
  open(threadId: string, options?: { onNotice?: (notice: ThreadSandboxNotice) => void }): Promise<OpenedSandbox>;
}

/** A thread's own sandbox (a `ThreadSandbox`): it replaces a dead VM, set up again by `setReplacementSetup`'s function. */
export interface OpenedSandbox extends SandboxBackendProtocolV2 {
  setReplacementSetup(setup: ReplacementSetup): void;
  close(): Promise<void>;
}

/** A child run to queue (the `delegate` tool): its own thread, task and narrower budget. */
export interface ChildRunRequest {
  threadId: string;
  parentThreadId: string;
  task: string;
  maxModelCalls: number;
  maxTokens: number;
  allowNetwork: boolean;
  /** Fixed when the child was first recorded, so a replayed call queues the identical request. */
  submittedAt: string;
}

/**
 * Where child runs go: the run queue, in a worker (`src/cli/child-runs.ts`). `submit` must be
 * idempotent for one child: a replayed `delegate` call may submit the same request again.
 */
export interface ChildRunPort {
  submit(child: ChildRunRequest): Promise<void>;
}
