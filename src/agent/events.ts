/**
 * How the agent publishes to its thread's event log. The events themselves (types, data shapes)
 * are defined once, in `src/nats/event-types.ts`. Every agent event has a stable `id` derived
 * from what caused it (agent, tool-call id, phase), so the copies a crash-resume replay publishes
 * are dropped by the log's dedup. Events carry summaries, never whole tool outputs, never secrets.
 */
import { type NewEvent, redactSecrets } from "../nats/index.ts";

export { redactSecrets };

/** Publishes one event (with its stable id); resolves once it is stored. */
export type EmitEvent = (event: NewEvent & { id: string; agent: string }) => Promise<void>;

const MAX_STRING = 400;

/** A JSON-safe summary of tool arguments or output: long strings clipped, depth bounded, secrets redacted. */
export function summarise(value: unknown, depth = 0): unknown {
  if (typeof value === "string") {
    const clean = redactSecrets(value);
    return clean.length > MAX_STRING ? `${clean.slice(0, MAX_STRING)}… (${clean.length} chars)` : clean;
  }
  if (value === null || typeof value !== "object") return value;
  if (depth > 3) return "…";
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => summarise(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = summarise(v, depth + 1);
  return out;
}
