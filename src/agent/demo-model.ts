import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { createScriptedModel, type AgentScript, type ScriptedStep } from "./scripted-model.ts";

/**
 * A SCRIPTED model for `vibewriter demo`: no LLM is involved. It replays a recorded plan of tool
 * calls for a due-diligence task — plan with write_todos → researcher subagent runs the
 * financial-due-diligence skill script in the sandbox → a citation-ready-report script assembles
 * the draft → verifier checks it → publisher publishes it — and every message it writes says it
 * is scripted. Content that depends on earlier results (the draft's text, the verifier's verdict)
 * is taken from the tool results it sees, so the run is real even though the "thinking" is not.
 *
 * The next step is chosen from the conversation (which agent — from the `ROLE:` line of the
 * system prompt — and how many turns it already took), never from a call counter, and message
 * and tool-call ids are derived from that position. So a run resumed after a crash, by a fresh
 * model in a fresh process, picks up at the right step with the same ids.
 */
export const SCRIPTED_LABEL = "[scripted demo model — no LLM]";

export const DEMO_TASK =
  "Due diligence on Northwind Solar Holdings from the provided sources: entity, key figures, risks and red flags, " +
  "as a citation-ready report.";

type Step = ScriptedStep;
type Script = AgentScript;

/** The body of a `read_file` result (deepagents puts a `@@ lines … @@` header above it). */
export function readFileBody(result: string): string {
  const lines = result.split("\n");
  const header = lines.findIndex((l) => /^@@ .* @@$/.test(l));
  return header >= 0 ? lines.slice(header + 1).join("\n") : result;
}

const todos = (statuses: Array<"pending" | "in_progress" | "completed">) => {
  const items = [
    "Research the sources with the researcher subagent (financial-due-diligence skill)",
    "Assemble a cited draft with the citation-ready-report skill",
    "Verify every citation with the verifier subagent",
    "Publish the verified report with the publisher subagent",
  ];
  return items.map((content, i) => ({ content, status: statuses[i] ?? "pending" }));
};

/** Where the skills are, as the system prompt's skill list says (the sandbox decides). */
function skillsDirOf(system: string): string {
  return /(\/[\w/.-]*\/)financial-due-diligence\/SKILL\.md/.exec(system)?.[1] ?? "/skills/";
}

const DRAFT = "/workspace/draft.md";
const REPORT = "/workspace/report.md";

const SCRIPTS: Record<string, Script> = {
  main: ({ turn, results, system }) => {
    const skills = skillsDirOf(system);
    const steps: Step[] = [
      [{ name: "write_todos", args: { todos: todos(["in_progress"]) } }],
      [
        {
          name: "task",
          args: {
            subagent_type: "researcher",
            description:
              `Run the financial-due-diligence skill over /workspace/sources (read ${skills}financial-due-diligence/SKILL.md first) ` +
              "and report where the facts file is.",
          },
        },
      ],
      [{ name: "write_todos", args: { todos: todos(["completed", "in_progress"]) } }],
      [
        {
          name: "execute",
          args: {
            command:
              `python3 ${skills}citation-ready-report/scripts/assemble_report.py /workspace/dd/facts.json /workspace/draft.md ` +
              `&& python3 ${skills}citation-ready-report/scripts/check_report.py /workspace/draft.md /workspace/sources`,
          },
        },
      ],
      [{ name: "write_todos", args: { todos: todos(["completed", "completed", "in_progress"]) } }],
      [{ name: "task", args: { subagent_type: "verifier", description: `Verify every citation in ${DRAFT}.` } }],
      [{ name: "write_todos", args: { todos: todos(["completed", "completed", "completed", "in_progress"]) } }],
      [{ name: "task", args: { subagent_type: "publisher", description: `Publish ${DRAFT} as the final report at ${REPORT}.` } }],
      [{ name: "write_todos", args: { todos: todos(["completed", "completed", "completed", "completed"]) } }],
      { text: `${SCRIPTED_LABEL} Done. ${results.at(-2) ?? ""}`.trim() },
    ];
    return steps[turn];
  },
  researcher: ({ turn, system }) => {
    const skills = skillsDirOf(system);
    const steps: Step[] = [
      [{ name: "read_file", args: { file_path: "/workspace/sources/index.json", limit: 200 } }],
      [{ name: "read_file", args: { file_path: `${skills}financial-due-diligence/SKILL.md`, limit: 200 } }],
      [{ name: "execute", args: { command: `python3 ${skills}financial-due-diligence/scripts/extract_facts.py /workspace/sources /workspace/dd` } }],
      [{ name: "read_file", args: { file_path: "/workspace/dd/facts.md", limit: 400 } }],
      { text: `${SCRIPTED_LABEL} Extracted the entity, figures, risks and red flags with exact quotes to /workspace/dd/facts.json and /workspace/dd/facts.md.` },
    ];
    return steps[turn];
  },
  verifier: ({ turn, results }) => {
    const steps: Step[] = [
      [{ name: "check_citations", args: { path: DRAFT } }],
      [{ name: "read_file", args: { file_path: DRAFT, limit: 1000 } }],
      { text: `${SCRIPTED_LABEL} ${/^All \d+ citations/.test(results[0] ?? "") ? "VERIFIED" : "PROBLEMS"}: ${results[0] ?? ""}` },
    ];
    return steps[turn];
  },
  publisher: ({ turn, results }) => {
    const steps: Step[] = [
      [{ name: "read_file", args: { file_path: DRAFT, limit: 5000 } }],
      [{ name: "write_file", args: { file_path: REPORT, content: readFileBody(results[0] ?? "").replace(/\n?$/, "\n") } }],
      [{ name: "publish_report", args: { path: REPORT } }],
      { text: `${SCRIPTED_LABEL} ${results[2] ?? ""}` },
    ];
    return steps[turn];
  },
};

/** The demo's scripts by role (also served by the provider stand-in in tests, through real clients). */
export const DEMO_SCRIPTS: Readonly<Record<string, Script>> = SCRIPTS;

/** The scripted demo model (see the module comment). */
export function scriptedDemoModel(maxCalls = 400): BaseChatModel {
  return createScriptedModel(SCRIPTS, { label: SCRIPTED_LABEL, maxCalls });
}
