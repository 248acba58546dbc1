import type { EmitEvent, VibewriterEvent } from "./events.ts";
import { redactSecrets } from "./events.ts";
import type { AgentBackbone } from "./ports.ts";

/** The emitter every part of the agent uses: publish to the log (acked), then tell `onEvent`. */
export function createEmitter(backbone: AgentBackbone, threadId: string, onEvent?: (e: VibewriterEvent) => void): EmitEvent {
  return async (partial) => {
    // Last line of defence: whatever a tool echoed, no secret-shaped string leaves in an event.
    const data = JSON.parse(redactSecrets(JSON.stringify(partial.data))) as Record<string, unknown>;
    const event: VibewriterEvent = { ...partial, data, threadId, at: new Date().toISOString() };
    await backbone.events.publish(threadId, event);
    try {
      onEvent?.(event);
    } catch {
      // A display error must not break the run.
    }
  };
}

