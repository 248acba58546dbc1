import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph-checkpoint";
import type { EventLog } from "../nats/events.ts";

/**
 * What the agent needs from the NATS backbone (`openBackbone()` in `src/nats`), as a narrow
 * contract. `agentBackbone()` in `backbone.ts` adapts the real backbone to it; keeping the agent on
 * this port means a change in the backbone's wider API touches one adapter, not the agent.
 */
export interface AgentBackbone {
  /** LangGraph checkpoints (the JetStream saver). */
  checkpointer: BaseCheckpointSaver;
  /** Long-term memory and the effect journal (the JetStream KV store). */
  store: BaseStore;
  artifacts: ArtifactPort;
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
