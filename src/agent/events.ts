/**
 * Events a Vibewriter run publishes to its thread's event log (and to `onEvent`), as they happen.
 * Each event has a stable `id` derived from what caused it (agent, tool-call id, phase), so an
 * event log that deduplicates by id drops the copies a crash-resume replay would publish.
 * Events carry summaries, never whole tool outputs, and never secrets.
 */
export const EventType = {
  RunStarted: "run.started",
  RunFinished: "run.finished",
  RunFailed: "run.failed",
  TodosUpdated: "todos.updated",
  ModelTurn: "model.turn",
  ToolStarted: "tool.started",
  ToolFinished: "tool.finished",
  FileWritten: "file.written",
  SubagentStarted: "subagent.started",
  SubagentFinished: "subagent.finished",
  SourceStored: "source.stored",
  SkillLoaded: "skill.loaded",
  SkillSkipped: "skill.skipped",
  CitationsChecked: "citations.checked",
  ReportPublished: "report.published",
  Warning: "warning",
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface VibewriterEvent {
  /** Stable id: the same cause always yields the same id. */
  id: string;
  type: EventType;
  threadId: string;
  /** `main` or the subagent's name. */
  agent: string;
  /** ISO-8601 time the event was produced. */
  at: string;
  data: Record<string, unknown>;
}

/** Publishes one event; resolves once it is stored. */
export type EmitEvent = (event: Omit<VibewriterEvent, "at" | "threadId">) => Promise<void>;

const MAX_STRING = 400;

/** Shapes of secrets that must never reach an event: Stellar secret seeds and provider API keys. */
const SECRET_PATTERNS = [/\bS[A-Z2-7]{55}\b/g, /\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}/g];

/** The text with anything shaped like a secret replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((t, re) => t.replace(re, "[redacted]"), text);
}

/** A JSON-safe summary of tool arguments or output: long strings clipped, depth bounded. */
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
