import { ToolMessage } from "@langchain/core/messages";
import type { BaseStore } from "@langchain/langgraph-checkpoint";
import { Command } from "@langchain/langgraph";
import { createMiddleware } from "langchain";
import { isNatsOutage, retryWhile } from "../../nats/index.ts";
import { SANDBOX_FAILURE } from "../../sandbox/index.ts";

/**
 * Tools whose effects must not happen twice. After a crash LangGraph re-executes the interrupted
 * node, so a tool that already ran would run again; the journal records each such call's result
 * under its tool-call id and answers a repeat from the record instead of running the tool. A call
 * the sandbox itself could not run (its VM died) is not recorded: a resume runs it again.
 */
export const JOURNALED_TOOLS = [
  "execute",
  "write_file",
  "edit_file",
  "delete",
  "task",
  "publish_report",
  "fetch_url",
  "cite_article",
  "publish_to_choir",
] as const;

/** Longer than any leader election; a run still cut off then is stopped, its lease expires. */
const RECORD_WITHIN_MS = 60_000;

export interface JournalEntry {
  content: string;
  status: "success" | "error";
  name: string;
  at: string;
}

export function journalNamespace(threadId: string): string[] {
  return ["vibewriter", "effects", threadId];
}

function recordOf(result: ToolMessage | Command): { content: string; status: "success" | "error" } | undefined {
  let msg: ToolMessage | undefined;
  if (ToolMessage.isInstance(result)) msg = result;
  else if (result instanceof Command) {
    const msgs = (result.update as { messages?: unknown[] } | undefined)?.messages;
    msg = Array.isArray(msgs) ? (msgs.findLast((m) => ToolMessage.isInstance(m as ToolMessage)) as ToolMessage | undefined) : undefined;
  }
  if (!msg) return undefined;
  const content = typeof msg.content === "string" ? msg.content : JSON.stringify(msg.content);
  return { content, status: msg.status === "error" ? "error" : "success" };
}

/**
 * The effect journal as middleware. `agent` scopes the keys so a subagent's call ids never collide
 * with the main agent's. Results are recorded in the store (NATS KV in production).
 */
export function createEffectJournalMiddleware(options: {
  store: BaseStore;
  threadId: string;
  agent: string;
  tools?: readonly string[];
  /** How long a journal write is retried through a NATS outage (default 60 s). */
  recordWithinMs?: number;
}) {
  const tools = new Set(options.tools ?? JOURNALED_TOOLS);
  const ns = journalNamespace(options.threadId);
  return createMiddleware({
    name: "VibewriterEffectJournal",
    wrapToolCall: async (request, handler) => {
      const call = request.toolCall;
      if (!tools.has(call.name) || !call.id) return handler(request);
      const key = `${options.agent}:${call.id}`;
      const prior = await options.store.get(ns, key);
      if (prior) {
        const entry = prior.value as unknown as JournalEntry;
        return new ToolMessage({
          content: entry.content,
          tool_call_id: call.id,
          name: call.name,
          status: entry.status,
          additional_kwargs: { vibewriter_replayed: true },
        });
      }
      const result = await handler(request);
      const rec = recordOf(result);
      // A call the sandbox could not run (its VM died) is run again on resume, not replayed as an error.
      if (rec && !rec.content.startsWith(SANDBOX_FAILURE)) {
        const entry: JournalEntry = { ...rec, name: call.name, at: new Date().toISOString() };
        // The effect has happened: its record must land, or a resume would run it again. A NATS
        // outage (a cluster electing a leader after a node died) is waited out; the put is idempotent.
        await retryWhile(() => options.store.put(ns, key, entry as unknown as Record<string, unknown>), {
          retryable: isNatsOutage,
          withinMs: options.recordWithinMs ?? RECORD_WITHIN_MS,
          firstWaitMs: 250,
          maxWaitMs: 4_000,
        });
      }
      return result;
    },
  });
}
