import { SystemMessage } from "@langchain/core/messages";
import { createFilesystemMiddleware, createMemoryMiddleware, createSkillsMiddleware, type AnyBackendProtocol } from "deepagents";
import { createMiddleware, todoListMiddleware, type AgentMiddleware } from "langchain";
import { fsToolDescriptions, memorySection, skillsSection, taskToolDescription, TODO_PROMPT, TODO_TOOL_DESCRIPTION, type SkillListing } from "../prompts.ts";

/**
 * The lean context: deepagents' and LangChain's pieces that put generic text in every model call,
 * replaced by same-named middleware (deepagents lets a custom middleware of the same name take
 * the built-in's place) that keeps their behaviour and says only what is true for this agent.
 * The texts are in `prompts.ts`; `bench/context.ts` measures the result.
 *
 * Each section is appended after a blank line (deepagents glues its skills section to the
 * previous text).
 */

/** Appends a section to a system message: after a blank line, to its last text block. */
function appendSection(system: SystemMessage, section: string): SystemMessage {
  return section ? system.concat(`\n\n${section}`) : system;
}

/**
 * deepagents' `SkillsMiddleware` (it loads each source's `<name>/SKILL.md` metadata into state
 * once per thread) with this agent's skills section in place of its generic how-to.
 */
export function createSkillsPromptMiddleware(options: { backend: AnyBackendProtocol; sources: string[] }): AgentMiddleware {
  const base = createSkillsMiddleware(options) as unknown as AgentMiddleware;
  return {
    ...base,
    wrapModelCall: (request, handler) => {
      const skills = ((request.state as { skillsMetadata?: SkillListing[] | null }).skillsMetadata ?? []) as SkillListing[];
      return handler({ ...request, systemMessage: appendSection(request.systemMessage, skillsSection(skills)) });
    },
  } as AgentMiddleware;
}

/**
 * deepagents' `MemoryMiddleware` (it loads the memory files into state when a run starts and adds
 * them as the last block of the system prompt, cache-marked for Anthropic) with that block's text
 * replaced by this agent's memory section.
 */
export function createMemoryPromptMiddleware(options: { backend: AnyBackendProtocol; sources: string[] }): AgentMiddleware {
  // `addCacheControl` only takes effect when the request's model is Anthropic's (checked per call).
  const base = createMemoryMiddleware({ ...options, addCacheControl: true }) as unknown as AgentMiddleware;
  return {
    ...base,
    wrapModelCall: (request, handler) =>
      base.wrapModelCall!(request, (inner) => {
        const blocks = inner.systemMessage?.content;
        if (!Array.isArray(blocks) || blocks.length === 0) return handler(inner);
        const contents = (request.state as { memoryContents?: Record<string, string> }).memoryContents ?? {};
        const last = { ...(blocks.at(-1) as object), type: "text", text: `\n\n${memorySection(contents, options.sources)}` };
        return handler({ ...inner, systemMessage: new SystemMessage({ content: [...blocks.slice(0, -1), last] as never }) });
      }),
  } as AgentMiddleware;
}

/**
 * The `task` tool's description. createDeepAgent builds the subagent middleware itself and offers
 * no option for it, and LangChain refuses a replaced tool instance in `wrapModelCall`: so the
 * description of that same instance is set before the model is bound to it (idempotent).
 */
export function createTaskDescriptionMiddleware(description: string): AgentMiddleware {
  return createMiddleware({
    name: "VibewriterTaskDescription",
    wrapModelCall: (request, handler) => {
      const task = request.tools?.find((t) => (t as { name?: string }).name === "task") as { description?: string } | undefined;
      if (task && task.description !== description) task.description = description;
      return handler(request);
    },
  }) as unknown as AgentMiddleware;
}

/**
 * The main agent's lean context, for `createDeepAgent({ middleware })`: filesystem tools with
 * short descriptions, the skills and memory sections, planning (`write_todos`) with a one-line
 * prompt and description, and the `task` tool described for these subagents.
 */
export function mainContextMiddleware(options: {
  backend: AnyBackendProtocol;
  skillsDir: string;
  memory: string[];
  /** Subagent name → one-line description, as the `task` tool lists them. */
  subagents: Record<string, string>;
}): AgentMiddleware[] {
  return [
    createFilesystemMiddleware({ backend: options.backend, customToolDescriptions: fsToolDescriptions(["execute"]) }) as unknown as AgentMiddleware,
    createSkillsPromptMiddleware({ backend: options.backend, sources: [options.skillsDir] }),
    todoListMiddleware({ systemPrompt: TODO_PROMPT, toolDescription: TODO_TOOL_DESCRIPTION }) as unknown as AgentMiddleware,
    createMemoryPromptMiddleware({ backend: options.backend, sources: options.memory }),
    createTaskDescriptionMiddleware(taskToolDescription(options.subagents)),
  ];
}
