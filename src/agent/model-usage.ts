/**
 * Model calls summed from `model.call` events: count, tokens as the provider reported them, and
 * time spent waiting for it. One rule for the budget, `show`, `threads`, `events` and the live
 * display. Light on purpose (no agent code): the CLI's reading commands load it.
 */
export interface ModelUsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Time spent waiting for the provider, summed over the calls. */
  latencyMs: number;
  /** Calls whose provider reported token counts (the others add no tokens). */
  callsWithTokens: number;
}

export const noModelCalls = (): ModelUsageTotals => ({ calls: 0, inputTokens: 0, outputTokens: 0, latencyMs: 0, callsWithTokens: 0 });

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);

/** Adds one `model.call` event's data to `to` (in place; the log may hold events of older versions). */
export function addModelCall(to: ModelUsageTotals, data: unknown): ModelUsageTotals {
  const d = (data ?? {}) as Record<string, unknown>;
  to.calls += 1;
  to.latencyMs += num(d.latencyMs);
  to.inputTokens += num(d.inputTokens);
  to.outputTokens += num(d.outputTokens);
  if (typeof d.inputTokens === "number" || typeof d.outputTokens === "number") to.callsWithTokens += 1;
  return to;
}
