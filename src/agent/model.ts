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
  const spec = env.VIBEWRITER_MODEL?.trim();
  if (!spec) {
    if (env.ANTHROPIC_API_KEY) return { provider: ModelProvider.Anthropic, model: DEFAULT_MODELS.anthropic };
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
      return { provider, model };
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
        return new ChatAnthropic({ model: choice.model, apiKey: env.ANTHROPIC_API_KEY, maxRetries: 3 });
      case ModelProvider.OpenAI:
        return new ChatOpenAI({
          model: choice.model,
          apiKey: env.OPENAI_API_KEY,
          maxRetries: 3,
          ...(choice.baseUrl ? { configuration: { baseURL: choice.baseUrl } } : {}),
        });
      case ModelProvider.OpenAICompatible:
        return new ChatOpenAI({
          model: choice.model,
          // Local servers usually ignore the key, but the client insists on one.
          apiKey: env.OPENAI_API_KEY || "not-needed",
          maxRetries: 3,
          configuration: { baseURL: choice.baseUrl },
        });
    }
  } catch (cause) {
    throw new AgentError(AgentErrorCode.ModelNotConfigured, `Could not create the ${choice.provider} model ${choice.model}.`, { cause });
  }
}
