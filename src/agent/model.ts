import { ChatAnthropic } from "@langchain/anthropic";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { ChatOpenAI } from "@langchain/openai";
import { AgentError, AgentErrorCode, ModelNotConfiguredError } from "./errors.ts";

/** Providers `VIBEWRITER_MODEL` may name, as `<provider>:<model>`. */
export const ModelProvider = {
  Anthropic: "anthropic",
  OpenAI: "openai",
  OpenAICompatible: "openai-compatible",
} as const;
export type ModelProvider = (typeof ModelProvider)[keyof typeof ModelProvider];

export const DEFAULT_MODELS = {
  anthropic: "claude-sonnet-4-5",
  openai: "gpt-4.1",
} as const;

export interface ModelChoice {
  provider: ModelProvider;
  model: string;
  baseUrl?: string;
  /** Per call: the request is abandoned (and retried) after this long. */
  timeoutMs: number;
  /** Retries of a failed call (429 honours `retry-after`, 5xx and timeouts back off) before the run stops. */
  maxRetries: number;
}

export const ModelEnv = {
  TimeoutSec: "VIBEWRITER_MODEL_TIMEOUT_SEC",
  MaxRetries: "VIBEWRITER_MODEL_MAX_RETRIES",
} as const;
export const DEFAULT_MODEL_TIMEOUT_SEC = 180;
export const DEFAULT_MODEL_MAX_RETRIES = 3;

function callSettings(env: NodeJS.ProcessEnv): Pick<ModelChoice, "timeoutMs" | "maxRetries"> {
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || n < min || n > max) throw new ModelNotConfiguredError(`${name}="${raw}" must be a number from ${min} to ${max}.`);
    return n;
  };
  return {
    timeoutMs: Math.round(number(ModelEnv.TimeoutSec, DEFAULT_MODEL_TIMEOUT_SEC, 1, 3600) * 1000),
    maxRetries: Math.floor(number(ModelEnv.MaxRetries, DEFAULT_MODEL_MAX_RETRIES, 0, 20)),
  };
}

const HOW_TO =
  "Set one of:\n" +
  "  ANTHROPIC_API_KEY=…                      (uses anthropic:" + DEFAULT_MODELS.anthropic + ")\n" +
  "  OPENAI_API_KEY=…                         (uses openai:" + DEFAULT_MODELS.openai + ")\n" +
  "  VIBEWRITER_MODEL=anthropic:<model> with ANTHROPIC_API_KEY\n" +
  "  VIBEWRITER_MODEL=openai:<model> with OPENAI_API_KEY\n" +
  "  VIBEWRITER_MODEL=openai-compatible:<model> with VIBEWRITER_BASE_URL (or OPENAI_BASE_URL),\n" +
  "    e.g. http://localhost:11434/v1 for Ollama; OPENAI_API_KEY if the server wants one.\n" +
  "Or run `vibewriter demo` to see the whole pipeline with a scripted model.";

/** Which provider and model the environment asks for (pure: reads `env` only, creates nothing). */
export function chooseModel(env: NodeJS.ProcessEnv = process.env): ModelChoice {
  return { ...chooseProvider(env), ...callSettings(env) };
}

function chooseProvider(env: NodeJS.ProcessEnv): Omit<ModelChoice, "timeoutMs" | "maxRetries"> {
  const spec = env.VIBEWRITER_MODEL?.trim();
  if (!spec) {
    if (env.ANTHROPIC_API_KEY) return { provider: ModelProvider.Anthropic, model: DEFAULT_MODELS.anthropic, ...anthropicUrl(env) };
    if (env.OPENAI_API_KEY) return { provider: ModelProvider.OpenAI, model: DEFAULT_MODELS.openai };
    throw new ModelNotConfiguredError(`No model is configured.\n${HOW_TO}`);
  }
  const colon = spec.indexOf(":");
  const provider = colon > 0 ? spec.slice(0, colon) : "";
  const model = colon > 0 ? spec.slice(colon + 1).trim() : "";
  if (!model) {
    throw new ModelNotConfiguredError(`VIBEWRITER_MODEL="${spec}" must look like <provider>:<model>.\n${HOW_TO}`);
  }
  switch (provider) {
    case ModelProvider.Anthropic:
      if (!env.ANTHROPIC_API_KEY) throw new ModelNotConfiguredError(`VIBEWRITER_MODEL=${spec} needs ANTHROPIC_API_KEY to be set.`);
      return { provider, model, ...anthropicUrl(env) };
    case ModelProvider.OpenAI:
      if (!env.OPENAI_API_KEY) throw new ModelNotConfiguredError(`VIBEWRITER_MODEL=${spec} needs OPENAI_API_KEY to be set.`);
      return { provider, model, ...(env.OPENAI_BASE_URL ? { baseUrl: env.OPENAI_BASE_URL } : {}) };
    case ModelProvider.OpenAICompatible: {
      const baseUrl = env.VIBEWRITER_BASE_URL || env.OPENAI_BASE_URL;
      if (!baseUrl) {
        throw new ModelNotConfiguredError(
          `VIBEWRITER_MODEL=${spec} needs VIBEWRITER_BASE_URL (or OPENAI_BASE_URL) set to the server's OpenAI-compatible URL, e.g. http://localhost:11434/v1.`,
        );
      }
      try {
        new URL(baseUrl);
      } catch (cause) {
        throw new ModelNotConfiguredError(`VIBEWRITER_BASE_URL="${baseUrl}" is not a URL.`, { cause });
      }
      return { provider, model, baseUrl };
    }
    default:
      throw new ModelNotConfiguredError(
        `VIBEWRITER_MODEL="${spec}": unknown provider "${provider}" (use anthropic, openai or openai-compatible).\n${HOW_TO}`,
      );
  }
}

/** `ANTHROPIC_BASE_URL`: a proxy or gateway in front of the Anthropic API. */
function anthropicUrl(env: NodeJS.ProcessEnv): { baseUrl?: string } {
  const url = env.ANTHROPIC_BASE_URL?.trim();
  if (!url) return {};
  try {
    new URL(url);
  } catch (cause) {
    throw new ModelNotConfiguredError(`ANTHROPIC_BASE_URL="${url}" is not a URL.`, { cause });
  }
  return { baseUrl: url };
}

/**
 * The chat model the environment configures: Anthropic, OpenAI, or any OpenAI-compatible server
 * (Ollama, vLLM, llama.cpp). API keys come from the environment and are handed to the client
 * only; they never enter prompts, events or logs. Throws `ModelNotConfiguredError` saying exactly
 * what to set.
 */
export function resolveModel(env: NodeJS.ProcessEnv = process.env): BaseChatModel {
  const choice = chooseModel(env);
  try {
    switch (choice.provider) {
      case ModelProvider.Anthropic:
        return new ChatAnthropic({
          model: choice.model,
          apiKey: env.ANTHROPIC_API_KEY,
          maxRetries: choice.maxRetries,
          ...(choice.baseUrl ? { anthropicApiUrl: choice.baseUrl } : {}),
          clientOptions: { timeout: choice.timeoutMs },
        });
      case ModelProvider.OpenAI:
        return new ChatOpenAI({
          model: choice.model,
          apiKey: env.OPENAI_API_KEY,
          maxRetries: choice.maxRetries,
          timeout: choice.timeoutMs,
          ...(choice.baseUrl ? { configuration: { baseURL: choice.baseUrl } } : {}),
        });
      case ModelProvider.OpenAICompatible:
        return new ChatOpenAI({
          model: choice.model,
          // Local servers usually ignore the key, but the client insists on one.
          apiKey: env.OPENAI_API_KEY || "not-needed",
          maxRetries: choice.maxRetries,
          timeout: choice.timeoutMs,
          configuration: { baseURL: choice.baseUrl },
        });
    }
  } catch (cause) {
    throw new AgentError(AgentErrorCode.ModelNotConfigured, `Could not create the ${choice.provider} model ${choice.model}.`, { cause });
  }
}
