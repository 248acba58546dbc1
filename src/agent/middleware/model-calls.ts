import { createHash } from "node:crypto";
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { interrupt } from "@langchain/langgraph";
import { createMiddleware } from "langchain";
import { EventType } from "../../nats/index.ts";
import type { EmitEvent } from "../events.ts";
import type { RunBudget } from "../run-budget.ts";
import { MALFORMED_ARG } from "./tool-errors.ts";

/** What the run pauses with when its budget of model calls or tokens is used up. */
export interface BudgetRequest {
  kind: "budget_exhausted";
  reason: string;
  calls: number;
  tokens: number;
  maxCalls: number;
  maxTokens: number;
  /** How to go on: `vibewriter resume ID --max-model-calls N --max-tokens N`. */
  resume: string;
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 10);

/**
 * Every model call of one agent (main or a subagent), as the provider answered it:
 * - before: the run's budget — used up, the run pauses for the owner (a LangGraph interrupt);
 * - `model.started` / `model.call` events with the model, latency and the provider's token counts;
 * - tool-call ids made unique: some servers reuse ids ("call_0") or send none, and LangGraph
 *   treats a call whose id already has a result as done, so the run would end with work undone;
 * - malformed tool calls (unparseable arguments) are kept as calls marked malformed: the tool-error
 *   middleware answers each with one short line asking for it again, and warns the user.
 */
export function createModelCallMiddleware(options: { agent: string; threadId: string; emit: EmitEvent; budget: RunBudget }) {
  const { agent, emit, budget } = options;
  return createMiddleware({
    name: `VibewriterModelCalls`,
    wrapModelCall: async (request, handler) => {
      const over = budget.exceeded();
      if (over) {
        const u = budget.used();
        const ask: BudgetRequest = {
          kind: "budget_exhausted",
          reason: over,
          calls: u.calls,
          tokens: u.inputTokens + u.outputTokens,
          maxCalls: budget.limits.maxCalls,
          maxTokens: budget.limits.maxTokens,
          resume: `vibewriter resume ${options.threadId} --max-model-calls ${budget.limits.maxCalls * 2} --max-tokens ${budget.limits.maxTokens * 2}`,
        };
        // Returns only after a resume; the budget is checked again with the limits then in force.
        interrupt(ask);
        const still = budget.exceeded();
        if (still) interrupt({ ...ask, reason: still });
      }
      // The same call replayed after a crash has the same position, so the same event ids.
      const key = `${agent}:model:${request.messages.length}:${hash(firstText(request.messages))}`;
      const model = modelName(request.model);
      await emit({ id: `${key}:started`, type: EventType.ModelStarted, agent, data: { model } });
      const started = performance.now();
      const response = await handler(request);
      const latencyMs = Math.round(performance.now() - started);
      if (!AIMessage.isInstance(response)) return response;
      const usage = response.usage_metadata;
      // Unreadable calls become calls answered with an error (tool-errors.ts), so the model is
      // asked again instead of the run ending on a message with nothing to do.
      const malformed = response.invalid_tool_calls ?? [];
      if (malformed.length) {
        response.tool_calls = [
          ...(response.tool_calls ?? []),
          ...malformed.map((c) => ({
            type: "tool_call" as const,
            id: c.id ?? "",
            name: c.name ?? "unknown_tool",
            args: { [MALFORMED_ARG]: `its arguments are not valid JSON (${parseError(c.error)})` },
          })),
        ];
        response.invalid_tool_calls = [];
      }
      budget.add({ calls: 1, inputTokens: usage?.input_tokens ?? 0, outputTokens: usage?.output_tokens ?? 0 });
      const renamed = uniqueToolCallIds(response, request.messages, key);
      await emit({
        id: `${key}:done`,
        type: EventType.ModelCall,
        agent,
        data: {
          model,
          latencyMs,
          ...(usage ? { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens } : {}),
          toolCalls: response.tool_calls?.length ?? 0,
          ...(malformed.length ? { malformed: malformed.length } : {}),
          ...(renamed ? { renamedToolCallIds: renamed } : {}),
        },
      });
      return response;
    },
  });
}

/**
 * Rewrites, in place, the ids of tool calls that are missing, repeated within the message, or
 * already used earlier in the conversation. Returns how many were renamed.
 */
export function uniqueToolCallIds(message: AIMessage, history: readonly BaseMessage[], seed: string): number {
  const calls = message.tool_calls ?? [];
  if (calls.length === 0) return 0;
  const used = new Set<string>();
  for (const m of history) {
    if (ToolMessage.isInstance(m)) used.add(m.tool_call_id);
    else if (AIMessage.isInstance(m)) for (const c of m.tool_calls ?? []) if (c.id) used.add(c.id);
  }
  let renamed = 0;
  calls.forEach((call, i) => {
    if (call.id && !used.has(call.id)) {
      used.add(call.id);
      return;
    }
    const fresh = `vw_${hash(`${seed}:${i}:${call.id ?? ""}:${call.name}`)}`;
    call.id = fresh;
    used.add(fresh);
    renamed++;
  });
  if (renamed) {
    // Providers' raw tool calls travel in additional_kwargs too (OpenAI); keep them in step.
    const raw = (message.additional_kwargs as { tool_calls?: { id?: string }[] }).tool_calls;
    if (Array.isArray(raw) && raw.length === calls.length) raw.forEach((r, i) => (r.id = calls[i]!.id));
  }
  return renamed;
}

/** The parser's complaint, without the raw arguments LangChain quotes around it. */
function parseError(error: string | undefined): string {
  const text = error ?? "";
  const line = /Error: ([^\n]+)/.exec(text)?.[1] ?? text.split("\n").find((l) => l.trim()) ?? "";
  return line.trim().slice(0, 120) || "unreadable";
}

function firstText(messages: readonly BaseMessage[]): string {
  const m = messages[0];
  return m ? (typeof m.content === "string" ? m.content : JSON.stringify(m.content)).slice(0, 2000) : "";
}

function modelName(model: unknown): string {
  const m = model as { model?: string; modelName?: string; getName?: () => string } | undefined;
  return m?.model ?? m?.modelName ?? m?.getName?.() ?? "model";
}
