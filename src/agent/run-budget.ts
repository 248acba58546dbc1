/**
 * A run's budget of model calls and tokens, shared by the main agent and its subagents. What was
 * used is counted from the thread's own `model.call` events, so it survives a restart; the limits
 * come from the run's options (a `resume` may raise them).
 */
export interface ModelUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

export interface BudgetLimits {
  maxCalls: number;
  maxTokens: number;
}

export const BudgetEnv = { MaxCalls: "VIBEWRITER_MAX_MODEL_CALLS", MaxTokens: "VIBEWRITER_MAX_TOKENS" } as const;
export const DEFAULT_BUDGET: BudgetLimits = { maxCalls: 300, maxTokens: 5_000_000 };

export class RunBudget {
  readonly limits: BudgetLimits;
  #used: ModelUsage;

  constructor(limits: BudgetLimits, used: ModelUsage = { calls: 0, inputTokens: 0, outputTokens: 0 }) {
    this.limits = limits;
    this.#used = { ...used };
  }

  used(): ModelUsage {
    return { ...this.#used };
  }

  add(u: ModelUsage): void {
    this.#used.calls += u.calls;
    this.#used.inputTokens += u.inputTokens;
    this.#used.outputTokens += u.outputTokens;
  }

  /** Why no further model call may be made, or undefined while within the limits. */
  exceeded(): string | undefined {
    const tokens = this.#used.inputTokens + this.#used.outputTokens;
    if (this.#used.calls >= this.limits.maxCalls) return `the run has made ${this.#used.calls} model calls (limit ${this.limits.maxCalls})`;
    if (tokens >= this.limits.maxTokens) return `the run has used ${tokens} tokens (limit ${this.limits.maxTokens})`;
    return undefined;
  }
}

/** Limits from the environment (`VIBEWRITER_MAX_MODEL_CALLS`, `VIBEWRITER_MAX_TOKENS`), over the defaults. */
export function budgetFromEnv(env: NodeJS.ProcessEnv, over: Partial<BudgetLimits> = {}): BudgetLimits {
  const read = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    if (!/^[1-9]\d{0,11}$/.test(raw)) throw new RangeError(`${name}="${raw}" must be a whole number above 0`);
    return Number(raw);
  };
  return {
    maxCalls: over.maxCalls ?? read(BudgetEnv.MaxCalls, DEFAULT_BUDGET.maxCalls),
    maxTokens: over.maxTokens ?? read(BudgetEnv.MaxTokens, DEFAULT_BUDGET.maxTokens),
  };
}
