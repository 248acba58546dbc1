import { homedir } from "node:os";
import { ToolMessage } from "@langchain/core/messages";
import { isGraphBubbleUp } from "@langchain/langgraph";
import { createMiddleware } from "langchain";
import { EventType } from "../../nats/index.ts";
import type { EmitEvent } from "../events.ts";

/** Marks a tool call whose arguments the provider sent unreadable (see model-calls.ts). */
export const MALFORMED_ARG = "__vibewriter_malformed";

const MAX_ERROR = 600;

/**
 * What the model sees when a tool call fails: one short, actionable line — never a host stack
 * trace or a host path. Calls the model sent malformed (arguments that are not a JSON object, or
 * not JSON at all) are answered without running anything, and the user is warned.
 */
export function createToolErrorMiddleware(options: { agent: string; emit: EmitEvent }) {
  const { agent, emit } = options;
  return createMiddleware({
    name: "VibewriterToolErrors",
    wrapToolCall: async (request, handler) => {
      const call = request.toolCall;
      const reply = (content: string) => new ToolMessage({ content, tool_call_id: call.id ?? "", name: call.name, status: "error" });
      const args = call.args as unknown;
      const malformed =
        args === null || typeof args !== "object" || Array.isArray(args)
          ? `its arguments must be a JSON object, got ${Array.isArray(args) ? "an array" : args === null ? "null" : `a ${typeof args}`}`
          : typeof (args as Record<string, unknown>)[MALFORMED_ARG] === "string"
            ? String((args as Record<string, unknown>)[MALFORMED_ARG])
            : undefined;
      if (malformed) {
        await emit({
          id: `${agent}:${call.id ?? call.name}:malformed`,
          type: EventType.Warning,
          agent,
          data: { message: `the model sent a malformed call to ${call.name}: ${malformed}` },
        });
        return reply(`Error: your call to ${call.name} could not be read: ${malformed}. Send the call again with valid JSON arguments.`);
      }
      try {
        const result = await handler(request);
        if (ToolMessage.isInstance(result) && result.status === "error" && typeof result.content === "string") {
          const clean = hostFree(result.content);
          if (clean !== result.content) return new ToolMessage({ ...result, content: clean });
        }
        return result;
      } catch (e) {
        if (isGraphBubbleUp(e)) throw e; // interrupts (a payment waiting for the owner) pause the run
        // A subagent whose model failed (provider down, timeout) stops the run, resumable: that is
        // not the tool's answer to the model.
        if (call.name === "task" || isProviderError(e)) throw e;
        return reply(`Error: ${call.name} failed: ${hostFree(firstLine(e))}`);
      }
    },
  });
}

/** Errors of a model client: an HTTP status from the provider, a timeout, an abort, LangChain's codes. */
function isProviderError(e: unknown): boolean {
  const x = e as { status?: unknown; lc_error_code?: unknown; name?: unknown };
  return typeof x?.status === "number" || typeof x?.lc_error_code === "string" || /Timeout|Abort|APIConnection/.test(String(x?.name ?? ""));
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n").find((l) => l.trim()) ?? "unknown error";
}

/** Removes stack frames and host paths (this checkout, node_modules, the home folder) and clips. */
export function hostFree(text: string): string {
  let out = text
    .split("\n")
    .filter((l) => !/^\s+at\s/.test(l))
    .join("\n");
  const roots = [process.cwd(), homedir()].filter((r) => r && r !== "/").sort((a, b) => b.length - a.length);
  for (const root of roots) out = out.split(root).join("…");
  out = out.replace(/(?:\/[\w.@+-]+)*\/node_modules\/[\w./@+-]*/g, "…");
  return out.length > MAX_ERROR ? `${out.slice(0, MAX_ERROR)}…` : out;
}
