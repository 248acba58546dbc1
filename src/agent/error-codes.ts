/** The codes of `AgentError` (errors.ts): snake_case, like every layer's. */
export const AgentErrorCode = {
  /** No model provider configured; the message says exactly what to set. */
  ModelNotConfigured: "model_not_configured",
  /** A thread id that has no checkpoint and no events. */
  UnknownThread: "unknown_thread",
  /** A thread id that cannot be used (empty, too long, odd characters). */
  InvalidThreadId: "invalid_thread_id",
  /** A `--sources` folder or file that cannot be used (missing, binary, too large, unreadable). */
  BadSource: "bad_source",
  /** A skill folder whose SKILL.md is missing or malformed. */
  BadSkill: "bad_skill",
  /** A report whose citations do not all resolve to a stored source and quote. */
  UnverifiableCitation: "unverifiable_citation",
  /** The sandbox could not be prepared (skills or sources upload failed). */
  SandboxSetup: "sandbox_setup",
  /** The model or the graph failed mid-run; the thread's state is kept and can be resumed. */
  RunFailed: "run_failed",
  /** Bad options passed to the API. */
  InvalidArgument: "invalid_argument",
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];
