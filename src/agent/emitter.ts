import type { VibewriterEvent } from "../nats/index.ts";
import type { EmitEvent } from "./events.ts";
import { redactSecrets } from "./events.ts";
import type { AgentBackbone } from "./ports.ts";

/**
 * The emitter every part of the agent uses: publish to the thread's `EventLog` (acked,
 * deduplicated by the event's id), then hand the stored event to `onEvent`.
 */
export function createEmitter(backbone: AgentBackbone, threadId: string, onEvent?: (e: VibewriterEvent) => void): EmitEvent {
  return async (event) => {
    // Last line of defence before the log's own refusal: whatever a tool echoed, redact
    // secret-shaped strings so the run goes on and nothing secret leaves in an event.
    const data = JSON.parse(redactSecrets(JSON.stringify(event.data))) as typeof event.data;
    const stored = await backbone.events.publish(threadId, { ...event, data } as typeof event);
    try {
      onEvent?.(stored);
    } catch {
      // A display error must not break the run.
    }
  };
}
