/**
 * A run as its event log records it, to publish step by step while a page watches: the plan,
 * a researcher subagent with its tool calls, a file, the sources (stored for real in the Object
 * Store, from samples/northwind), a report whose citations quote them verbatim, and the end.
 * The events are the agent's own types (src/nats/event-types.ts); only their order is fixed here.
 */
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { loadSourcesDir, storeSources, type Source } from "../../src/agent/sources.ts";
import { REPORT_ARTIFACT } from "../../src/agent/tools/publish.ts";
import type { NewEvent } from "../../src/nats/event-types.ts";
import type { Backbone } from "../../src/nats/index.ts";

/** A sentence of the auditor's letter; in the source it breaks across a line ("…from\noperations…"). */
export const QUOTE = "The Company has incurred recurring losses from operations";
export const TASK = "Due diligence on Northwind Solar Holdings (recorded run)";
export const NOTES = "# Notes\n\nGoing-concern doubt in the auditor's letter.\n";

export interface RecordedRun {
  /** The auditor's letter as a stored source. */
  auditor: Source;
  /** Each step: the events to publish, and what it stores first (files, the report). */
  steps: { name: string; events: NewEvent[]; before?: () => Promise<void> }[];
}

export async function recordedRun(backbone: Backbone, threadId: string): Promise<RecordedRun> {
  const artifacts = backbone.blobs;
  const sources = await loadSourcesDir(SAMPLES_DIR);
  const auditor = sources.find((s) => s.origin === "auditor-letter.txt")!;
  const enc = new TextEncoder();
  const report = [
    "# Due diligence: Northwind Solar Holdings",
    "",
    "## Red flags",
    "",
    `- Going concern: the auditors write that "${QUOTE}" [[src:${auditor.id}|"${QUOTE}"]].`,
    `- Related party lease [[src:${auditor.id}|"The Company leases its headquarters from an entity controlled by its chief executive officer"]].`,
    "",
  ].join("\n");
  const todos = (done: number) =>
    ["Research the sources", "Write the report", "Publish it"].map((content, i) => ({
      content,
      status: i < done ? "completed" : i === done ? "in_progress" : "pending",
    }));
  let n = 0;
  const ev = (e: Omit<NewEvent, "id">): NewEvent => ({ id: `recorded:${threadId}:${n++}`, ...e }) as NewEvent;
  return {
    auditor,
    steps: [
      {
        name: "started",
        before: async () => void (await storeSources(artifacts, threadId, sources)),
        events: [
          ev({ type: "run.started", data: { task: TASK, sources: sources.map((s) => s.id) } }),
          ...sources.map((s) => ev({ type: "source.stored", data: { id: s.id, origin: s.origin, kind: s.kind, chars: s.chars, title: s.title ?? null } })),
          ev({ type: "todos.updated", data: { todos: todos(0) } }),
        ],
      },
      {
        name: "research",
        events: [
          ev({ type: "tool.started", data: { tool: "task", callId: "call-research", args: { subagent_type: "researcher" } } }),
          ev({ type: "subagent.started", data: { subagent: "researcher", description: "Read the sources and note the red flags", callId: "call-research" } }),
          ev({ type: "tool.started", agent: "researcher", data: { tool: "grep", callId: "call-grep", args: { pattern: "going concern" } } }),
          ev({ type: "tool.finished", agent: "researcher", data: { tool: "grep", callId: "call-grep", status: "ok", output: "auditor-letter.txt:3: Going concern." } }),
        ],
      },
      {
        name: "notes",
        before: () => artifacts.put(`threads/${threadId}/workspace/notes.md`, enc.encode(NOTES)),
        events: [
          ev({ type: "tool.started", agent: "researcher", data: { tool: "write_file", callId: "call-notes", args: { file_path: "/workspace/notes.md" } } }),
          ev({ type: "file.written", agent: "researcher", data: { path: "/workspace/notes.md", tool: "write_file", bytes: NOTES.length, artifact: `threads/${threadId}/workspace/notes.md` } }),
          ev({ type: "tool.finished", agent: "researcher", data: { tool: "write_file", callId: "call-notes", status: "ok", output: "Updated file /workspace/notes.md" } }),
          ev({ type: "subagent.finished", data: { subagent: "researcher", callId: "call-research", status: "ok", result: "Two red flags." } }),
          ev({ type: "tool.finished", data: { tool: "task", callId: "call-research", status: "ok", output: "Two red flags." } }),
          ev({ type: "todos.updated", data: { todos: todos(1) } }),
        ],
      },
      {
        name: "published",
        before: () => artifacts.put(REPORT_ARTIFACT(threadId), enc.encode(report)),
        events: [
          ev({ type: "todos.updated", data: { todos: todos(2) } }),
          ev({ type: "citations.checked", data: { path: "/workspace/report.md", ok: true, citations: 2, problems: [], uncited: 0 } }),
          ev({ type: "report.published", data: { artifact: REPORT_ARTIFACT(threadId), sha256: "0".repeat(64), bytes: report.length, citations: 2, sources: [auditor.id] } }),
          ev({ type: "todos.updated", data: { todos: todos(3) } }),
          ev({ type: "run.finished", data: { status: "completed", report: REPORT_ARTIFACT(threadId) } }),
        ],
      },
    ],
  };
}
