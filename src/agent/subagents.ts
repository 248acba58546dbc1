import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredTool } from "@langchain/core/tools";
import { createFilesystemMiddleware, type AnyBackendProtocol, type FsToolName, type SubAgent } from "deepagents";
import type { AgentMiddleware } from "langchain";
import type { EmitEvent } from "./events.ts";
import { createEffectJournalMiddleware } from "./middleware/effect-journal.ts";
import { createEventMiddleware } from "./middleware/events.ts";
import { createSkillsPromptMiddleware } from "./middleware/context.ts";
import { createToolPolicyMiddleware } from "./middleware/tool-policy.ts";
import { fsToolDescriptions, GENERAL_PROMPT, PUBLISHER_PROMPT, RESEARCHER_PROMPT, VERIFIER_PROMPT } from "./prompts.ts";
import type { BaseStore } from "@langchain/langgraph-checkpoint";

/**
 * Each subagent's powers, in one table. deepagents 1.14.1 gives a declarative subagent the full
 * filesystem toolset (including `execute`) and the main agent's custom tools unless the spec
 * overrides them, so every spec below sets its own `tools` and replaces the default
 * `FilesystemMiddleware` (same name) with one restricted to `fs`; a policy middleware refuses
 * anything else at call time, including writes outside `writable`. Tool descriptions and the
 * skills section are this agent's own (`prompts.ts`), not deepagents' generic ones.
 */
export const SUBAGENT_POWERS = {
  researcher: {
    fs: ["read_file", "ls", "grep", "glob", "write_file", "edit_file", "execute"],
    hostTools: ["fetch_url", "search_choir_kb"],
    writable: ["/workspace/notes/", "/workspace/dd/"],
    skills: true,
  },
  verifier: {
    fs: ["read_file", "ls", "grep", "glob"],
    hostTools: ["check_citations"],
    writable: [],
    skills: false,
  },
  publisher: {
    fs: ["read_file", "ls", "grep", "glob", "write_file", "edit_file"],
    hostTools: ["publish_report", "publish_to_choir"],
    writable: ["/workspace/report.md", "/workspace/publish/"],
    skills: false,
  },
  // Replaces deepagents' built-in general-purpose subagent, which would otherwise hold every tool.
  "general-purpose": {
    fs: ["read_file", "ls", "grep", "glob"],
    hostTools: [],
    writable: [],
    skills: false,
  },
} as const satisfies Record<string, { fs: readonly FsToolName[]; hostTools: readonly string[]; writable: readonly string[]; skills: boolean }>;
export type SubagentName = keyof typeof SUBAGENT_POWERS;

/** What the main agent's `task` tool says about each subagent. */
export const SUBAGENT_DESCRIPTIONS: Record<SubagentName, string> = {
  researcher:
    "Reads the sources, runs skill scripts in the sandbox and writes notes (claims with exact-quote citations) under /workspace/notes and /workspace/dd.",
  verifier: "Checks every claim and citation of a draft against the stored sources. Read-only; cannot write or publish.",
  publisher: "Turns the verified draft into /workspace/report.md and publishes it (publishing re-verifies every citation).",
  "general-purpose": "Read-only helper for quick questions about the files. Cannot write, execute or publish.",
};
const PROMPTS: Record<SubagentName, string> = {
  researcher: RESEARCHER_PROMPT,
  verifier: VERIFIER_PROMPT,
  publisher: PUBLISHER_PROMPT,
  "general-purpose": GENERAL_PROMPT,
};

export interface SubagentDeps {
  model: BaseChatModel;
  backend: AnyBackendProtocol;
  store: BaseStore;
  threadId: string;
  emit: EmitEvent;
  /** Where the skills are in the sandbox (read-only for every subagent). */
  skillsDir: string;
  /** Host tools by name; a subagent receives only those its powers list (and that exist). */
  hostTools: Record<string, StructuredTool | undefined>;
  /** The run's model-call middleware for this subagent (budget, usage events, tool-call ids). */
  modelCalls?: (agent: string) => AgentMiddleware[];
}

export function buildSubagents(deps: SubagentDeps): SubAgent[] {
  return (Object.keys(SUBAGENT_POWERS) as SubagentName[]).map((name) => {
    const powers = SUBAGENT_POWERS[name];
    const tools = powers.hostTools.map((t) => deps.hostTools[t]).filter((t): t is StructuredTool => t !== undefined);
    const allowed = [...powers.fs, ...tools.map((t) => t.name)];
    const middleware: AgentMiddleware[] = [
      createFilesystemMiddleware({ backend: deps.backend, tools: [...powers.fs], customToolDescriptions: fsToolDescriptions(powers.fs) }) as unknown as AgentMiddleware,
      // Takes the place of deepagents' SkillsMiddleware (same name) that `skills` below adds.
      ...(powers.skills ? [createSkillsPromptMiddleware({ backend: deps.backend, sources: [deps.skillsDir] })] : []),
      createEventMiddleware({ agent: name, emit: deps.emit }) as unknown as AgentMiddleware,
      ...(deps.modelCalls?.(name) ?? []),
      createToolPolicyMiddleware({ agent: name, allowedTools: allowed, writablePrefixes: powers.writable, readOnlyPrefixes: [deps.skillsDir] }) as unknown as AgentMiddleware,
      createEffectJournalMiddleware({ store: deps.store, threadId: deps.threadId, agent: name }) as unknown as AgentMiddleware,
    ];
    return {
      name,
      description: SUBAGENT_DESCRIPTIONS[name],
      systemPrompt: PROMPTS[name],
      model: deps.model,
      tools,
      middleware,
      ...(powers.skills ? { skills: [deps.skillsDir] } : {}),
    } satisfies SubAgent;
  });
}
