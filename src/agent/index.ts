export {
  createVibewriter,
  validateThreadId,
  RunStatus,
  MEMORY_FILE,
  MEMORY_NAMESPACE,
  type Vibewriter,
  type VibewriterOptions,
  type RunResult,
  type Todo,
} from "./vibewriter.ts";
export { resolveModel, chooseModel, ModelProvider, DEFAULT_MODELS, type ModelChoice } from "./model.ts";
export { scriptedDemoModel, SCRIPTED_LABEL, DEMO_TASK } from "./demo-model.ts";
export { createScriptedModel, type AgentScript, type ScriptedModel, type ScriptedStep } from "./scripted-model.ts";
export { listThreads, showThread, ThreadStatus, type ThreadSummary, type ThreadDetails } from "./threads.ts";
export { AgentError, AgentErrorCode, ModelNotConfiguredError } from "./errors.ts";
export { EventType, type VibewriterEvent, type StoredEvent } from "../nats/event-types.ts";
export { checkCitations, parseCitations, CITATION_SYNTAX, type CitationCheckResult, type CitationProblem } from "./citations.ts";
export { loadSourcesDir, SOURCE_LIMITS, type SourceInfo } from "./sources.ts";
export { SUBAGENT_POWERS } from "./subagents.ts";
export { REPORT_ARTIFACT } from "./tools/publish.ts";
export { SAMPLES_DIR } from "./samples.ts";
export type { AgentBackbone, ArtifactPort, SandboxPort } from "./ports.ts";
