import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import type { ArtifactStore, Backbone } from "../nats/index.ts";
import { NatsBackboneError, NatsErrorCode } from "../nats/errors.ts";
import { Names } from "../nats/streams.ts";
import { decodeToken, encodeToken } from "../nats/subject-token.ts";
import type { VibewriterEvent } from "./events.ts";
import type { AgentBackbone, ArtifactPort, EventPort } from "./ports.ts";

/**
 * Adapt the NATS backbone to the agent's port: artifacts through the backbone's ArtifactStore;
 * events straight to the events stream it opened (`vibewriter.events.<thread token>`, deduplicated
 * by event id).
 */
export function agentBackbone(b: Backbone | AgentBackbone): AgentBackbone {
  if (isAgentBackbone(b)) return b;
  const nb = b as Backbone;
  return {
    checkpointer: nb.checkpointer,
    store: nb.store,
    artifacts: artifactStorePort(nb.artifacts),
    events: eventStreamPort(nb.js, nb.jsm),
  };
}

function isAgentBackbone(b: unknown): b is AgentBackbone {
  const a = (b as AgentBackbone).artifacts as Partial<ArtifactPort> | undefined;
  const e = (b as AgentBackbone).events as Partial<EventPort> | undefined;
  return typeof a?.put === "function" && typeof a?.get === "function" && typeof a?.list === "function"
    && typeof e?.publish === "function" && typeof e?.read === "function" && typeof e?.threads === "function";
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

export function eventSubject(threadId: string): string {
  return `${Names.eventsSubjectPrefix}.${encodeToken(threadId)}`;
}

export function eventStreamPort(js: JetStreamClient, jsm: JetStreamManager): EventPort {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    async publish(threadId, event) {
      const h = headers();
      h.set("Vibewriter-Event", event.type);
      // msgID = the event's stable id: a replay after crash-resume is dropped by JetStream's dedup.
      await js.publish(eventSubject(threadId), enc.encode(JSON.stringify(event)), { msgID: `${threadId}/${event.id}`, headers: h });
    },
    async read(threadId) {
      const subject = eventSubject(threadId);
      const info = await jsm.streams.info(Names.eventsStream, { subjects_filter: subject });
      const total = info.state.subjects?.[subject] ?? 0;
      if (total === 0) return [];
      const consumer = await js.consumers.get(Names.eventsStream, { filter_subjects: subject });
      const out: VibewriterEvent[] = [];
      try {
        while (out.length < total) {
          const batch = await consumer.fetch({ max_messages: Math.min(500, total - out.length), expires: 5000 });
          let got = 0;
          for await (const m of batch) {
            got++;
            out.push(JSON.parse(dec.decode(m.data)) as VibewriterEvent);
            if (m.info.pending === 0) break;
          }
          if (got === 0) break;
          if (out.length >= total) break;
        }
      } finally {
        await consumer.delete().catch(() => {});
      }
      return out;
    },
    async threads() {
      const info = await jsm.streams.info(Names.eventsStream, { subjects_filter: `${Names.eventsSubjectPrefix}.>` });
      const ids: string[] = [];
      for (const subject of Object.keys(info.state.subjects ?? {})) {
        const token = subject.slice(Names.eventsSubjectPrefix.length + 1);
        const id = decodeToken(token);
        if (id !== undefined) ids.push(id);
      }
      return ids.sort();
    },
  };
}
