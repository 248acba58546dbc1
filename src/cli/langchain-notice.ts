/**
 * LangChain's "New LangChain packages are available … pnpm install …" notice, kept off the console.
 *
 * `@langchain/core` (1.4) prints it with a bare `console.warn` from the `AIMessage` constructor
 * whenever a message carries raw provider tool calls but no parsed ones — which is exactly what the
 * current `@langchain/openai` builds when a model sends a tool call whose arguments are not valid
 * JSON. The packages are current, so the advice is wrong, and the malformed call is already reported
 * by the agent. `@langchain/core` reads no variable or option for it (its env switches are
 * LANGCHAIN_VERBOSE, LANGCHAIN_TRACING, LANGCHAIN_CALLBACKS_BACKGROUND, LC_OUTPUT_VERSION), so the
 * CLI drops this one message at process start and lets every other warning through unchanged.
 */

/** How the notice begins (the whole first argument of its `console.warn`). */
export const LANGCHAIN_UPGRADE_NOTICE = "New LangChain packages are available that more efficiently handle";

const INSTALLED = Symbol.for("vibewriter.langchainNoticeFilter");

type Warn = (...args: unknown[]) => void;

/**
 * Replaces `target.warn` with one that drops LangChain's upgrade notice and passes every other call
 * to the original. Idempotent. Returns a function that puts the original back.
 */
export function silenceLangChainUpgradeNotice(target: { warn: Warn } = console): () => void {
  const current = target.warn as Warn & { [INSTALLED]?: Warn };
  if (current[INSTALLED]) return () => void (target.warn = current[INSTALLED]!);
  const original = current;
  const filtered: Warn & { [INSTALLED]?: Warn } = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] === "string" && args[0].startsWith(LANGCHAIN_UPGRADE_NOTICE)) return;
    original.apply(this ?? target, args);
  };
  filtered[INSTALLED] = original;
  target.warn = filtered;
  return () => {
    if (target.warn === filtered) target.warn = original;
  };
}
