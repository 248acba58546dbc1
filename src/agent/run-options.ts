/**
 * The options a thread was run with (`--skills`, `--allow-network`), kept in the memory KV so that
 * `resume` goes on as the run started. On `resume`, its own `--skills` replace the run's list and
 * `--allow-network` allows the network; without them the run's options apply.
 */
import { resolve } from "node:path";
import type { BaseStore } from "@langchain/langgraph-checkpoint";

const NAMESPACE = ["vibewriter", "run-options"];

export interface RunOptions {
  /** Host folders of extra skills (absolute once remembered). */
  skills: string[];
  allowNetwork: boolean;
  /** `--max-model-calls` / `--max-tokens`: the thread's budget (a resume may raise it). */
  maxModelCalls?: number;
  maxTokens?: number;
}

export async function rememberRunOptions(store: BaseStore, threadId: string, opts: RunOptions): Promise<void> {
  await store.put(NAMESPACE, threadId, {
    skills: opts.skills.map((s) => resolve(s)),
    allowNetwork: opts.allowNetwork,
    ...(opts.maxModelCalls ? { maxModelCalls: opts.maxModelCalls } : {}),
    ...(opts.maxTokens ? { maxTokens: opts.maxTokens } : {}),
  });
}

/** The options to resume `threadId` with; `remembered` when the run's own were found. */
export async function resumeOptions(store: BaseStore, threadId: string, given: RunOptions): Promise<RunOptions & { remembered: boolean }> {
  const saved = parse((await store.get(NAMESPACE, threadId))?.value);
  if (!saved) return { ...given, remembered: false };
  const maxModelCalls = given.maxModelCalls ?? saved.maxModelCalls;
  const maxTokens = given.maxTokens ?? saved.maxTokens;
  return {
    skills: given.skills.length > 0 ? given.skills : saved.skills,
    allowNetwork: given.allowNetwork || saved.allowNetwork,
    ...(maxModelCalls ? { maxModelCalls } : {}),
    ...(maxTokens ? { maxTokens } : {}),
    remembered: true,
  };
}

/** A record that is not what `rememberRunOptions` writes is ignored (it never widens anything). */
function parse(value: unknown): RunOptions | null {
  if (typeof value !== "object" || value === null) return null;
  const { skills, allowNetwork, maxModelCalls, maxTokens } = value as Record<string, unknown>;
  if (!Array.isArray(skills) || !skills.every((s) => typeof s === "string") || typeof allowNetwork !== "boolean") return null;
  const limit = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : undefined);
  return { skills, allowNetwork, ...(limit(maxModelCalls) ? { maxModelCalls: limit(maxModelCalls) } : {}), ...(limit(maxTokens) ? { maxTokens: limit(maxTokens) } : {}) };
}
