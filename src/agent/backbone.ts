import type { ArtifactStore, Backbone } from "../nats/index.ts";
import { NatsBackboneError, NatsErrorCode } from "../nats/errors.ts";
import type { AgentBackbone, ArtifactPort, EventPort } from "./ports.ts";

/**
 * Adapt the NATS backbone to the agent's port: artifacts through the backbone's ArtifactStore,
 * events through its `EventLog` (the one path to the events stream).
 */
export function agentBackbone(b: Backbone | AgentBackbone): AgentBackbone {
  if (isAgentBackbone(b)) return b;
  const nb = b as Backbone;
  return {
    checkpointer: nb.checkpointer,
    store: nb.store,
    artifacts: artifactStorePort(nb.artifacts),
    events: nb.events,
  };
}

function isAgentBackbone(b: unknown): b is AgentBackbone {
  const a = (b as AgentBackbone).artifacts as Partial<ArtifactPort> | undefined;
  const e = (b as AgentBackbone).events as Partial<EventPort> | undefined;
  // The real ArtifactStore has put/get/list too, but its `get` streams: only the port has getBytes-free `get`.
  return typeof a?.put === "function" && typeof a?.get === "function" && typeof a?.list === "function"
    && typeof (a as { getBytes?: unknown }).getBytes !== "function"
    && typeof e?.publish === "function" && typeof e?.history === "function" && typeof e?.threads === "function";
}

export function artifactStorePort(store: ArtifactStore): ArtifactPort {
  return {
    async put(name, data) {
      await store.put(name, data);
    },
    async get(name) {
      try {
        return await store.getBytes(name);
      } catch (err) {
        if (NatsBackboneError.isInstance(err, NatsErrorCode.NotFound)) return null;
        throw err;
      }
    },
    async list(prefix) {
      return (await store.list(prefix)).map((i) => i.name);
    },
  };
}
