/**
 * Which chat model a run uses. Normally the configured one (`resolveModel`, whose error says
 * exactly what to set). `VIBEWRITER_SCRIPTED_MODEL=demo` — undocumented in the help on purpose, it
 * is for tests and demos — selects the agent's scripted demo model instead: a recorded plan of tool
 * calls, no LLM, and the CLI says so on every run that uses it.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AgentError, AgentErrorCode, chooseModel, resolveModel, SCRIPTED_LABEL, scriptedDemoModel } from "../agent/index.ts";
import { CliError, CliErrorCode } from "./errors.ts";

export const SCRIPTED_MODEL_ENV = "VIBEWRITER_SCRIPTED_MODEL";

/** Scripted models the CLI can be told to use. */
export const ScriptedModel = { Demo: "demo" } as const;

export interface CliModel {
  model: BaseChatModel;
  /** Shown at the start of a run: provider and model, or the scripted label. Never a key. */
  label: string;
  scripted: boolean;
}

export function scriptedModel(): CliModel {
  return { model: scriptedDemoModel(), label: SCRIPTED_LABEL, scripted: true };
}

export function cliModel(env: NodeJS.ProcessEnv): CliModel {
  const scripted = env[SCRIPTED_MODEL_ENV]?.trim();
  if (scripted) {
    if (scripted !== ScriptedModel.Demo) {
      throw new CliError(CliErrorCode.NotConfigured, `${SCRIPTED_MODEL_ENV}="${scripted}" is not a scripted model.`, {
        fix: `Use ${SCRIPTED_MODEL_ENV}=${ScriptedModel.Demo}, or unset it to use the configured model.`,
      });
    }
    return scriptedModel();
  }
  try {
    const choice = chooseModel(env);
    return { model: resolveModel(env), label: `${choice.provider}:${choice.model}`, scripted: false };
  } catch (e) {
    if (AgentError.isInstance(e, AgentErrorCode.ModelNotConfigured)) {
      // The agent's message already says exactly what to set: it is the whole error.
      throw new CliError(CliErrorCode.NotConfigured, e.message, { cause: e });
    }
    throw e;
  }
}
