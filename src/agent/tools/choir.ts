import { tool, type ToolRuntime } from "@langchain/core/tools";
import { z } from "zod";
import { type Choir, ChoirError, ChoirErrorCode, REPORT_ID } from "../../choir/index.ts";
import { isStellarAddress } from "../../wallet/index.ts";

export interface ChoirToolOptions {
  choir: Choir;
  /** The author's Stellar account id (the owner's payout address): rewards for citations go there. */
  author: string;
  /** Default: the run's `thread_id`. Citations staged by `cite_article` are kept per thread. */
  threadId?: string;
  /** Reads a file the agent wrote (e.g. through the sandbox backend) for `publish_to_choir({ path })`. */
  readText?: (path: string) => Promise<string | { error: string }>;
}

/** How a citation appears in a report; `publish_to_choir` finds these markers. */
export const citationMarker = (id: string) => `[choir:${id}]`;
const MARKER_RE = /\[choir:(r-[a-f0-9]{20})\]/g;

function threadOf(options: ChoirToolOptions, runtime: ToolRuntime): string {
  const t = options.threadId ?? String((runtime.configurable as { thread_id?: unknown } | undefined)?.thread_id ?? "");
  return t.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "default";
}

function fail(e: unknown): string {
  if (ChoirError.isInstance(e)) return `Error (${e.code}): ${e.message}`;
  throw e;
}

/**
 * The Choir tools over NATS: `search_choir_kb` (search published reports), `cite_article`
 * (check a report exists and stage the citation for this thread's next publication) and
 * `publish_to_choir` (publish a report; each cited earlier report emits `citation.new.<id>`).
 */
export function createChoirTools(options: ChoirToolOptions) {
  const { choir } = options;
  if (!isStellarAddress(options.author)) throw new ChoirError(ChoirErrorCode.InvalidReport, "createChoirTools: author must be an exact Stellar account id");
  const draftKey = (thread: string) => `draft.${thread}`;

  const search = tool(
    async ({ query, limit }) => {
      const hits = await choir.search(query, limit ?? 5);
      if (hits.length === 0) return `No published Choir report matches "${query}".`;
      return hits
        .map((h) => `${h.id} | ${h.title} | author ${h.author} | ${h.publishedAt}\n  ${h.snippet}`)
        .join("\n");
    },
    {
      name: "search_choir_kb",
      description: "Search the Choir knowledge base of published reports. Returns report ids, titles, authors and a snippet.",
      schema: z.object({ query: z.string().min(1).max(500), limit: z.number().int().min(1).max(20).optional() }),
    },
  );

  const cite = tool(
    async ({ reportId }, runtime: ToolRuntime) => {
      if (!REPORT_ID.test(reportId)) return `Error (invalid_citation): ${JSON.stringify(reportId.slice(0, 40))} is not a Choir report id (r- followed by 20 hex digits).`;
      const r = await choir.get(reportId);
      if (!r) return `Error (report_not_found): no published Choir report ${reportId}.`;
      const key = draftKey(threadOf(options, runtime));
      for (let i = 0; i < 20; i++) {
        const e = await choir.kv.get(key);
        const staged: string[] = e && e.operation === "PUT" ? e.json<string[]>() : [];
        if (staged.includes(reportId)) break;
        try {
          if (e && e.operation === "PUT") await choir.kv.update(key, JSON.stringify([...staged, reportId]), e.revision);
          else await choir.kv.create(key, JSON.stringify([reportId]));
          break;
        } catch {
          // lost a race with a parallel cite: read again
        }
      }
      return `Cite it as ${citationMarker(r.id)} — "${r.title}" (author ${r.author}, published ${r.publishedAt}). The citation is recorded when your report is published to the Choir.`;
    },
    {
      name: "cite_article",
      description: `Cite a published Choir report in the report you are writing. Put the returned marker (${citationMarker("r-…")}) in your text.`,
      schema: z.object({ reportId: z.string().describe("Choir report id, e.g. r-0123456789abcdef0123") }),
    },
  );

  const publish = tool(
    async ({ title, body, path, abstract }, runtime: ToolRuntime) => {
      let text = body;
      if (path) {
        if (!options.readText) return "Error: publishing from a file is not available here; pass the report text as `body`.";
        const r = await options.readText(path);
        if (typeof r !== "string") return `Error: ${r.error}`;
        text = r;
      }
      if (!text) return "Error: give the report as `body` or `path`.";
      const key = draftKey(threadOf(options, runtime));
      const e = await choir.kv.get(key);
      const staged: string[] = e && e.operation === "PUT" ? e.json<string[]>() : [];
      const marked = [...text.matchAll(MARKER_RE)].map((m) => m[1]);
      try {
        const report = await choir.publish({ title, body: text, abstract, author: options.author, cites: [...new Set([...marked, ...staged])] });
        if (e && e.operation === "PUT") await choir.kv.delete(key).catch(() => {});
        return `Published to the Choir as ${report.id} ("${report.title}", ${report.bytes} bytes), citing ${report.cites.length} earlier report(s)${report.cites.length ? `: ${report.cites.join(", ")}` : ""}.`;
      } catch (err) {
        return fail(err);
      }
    },
    {
      name: "publish_to_choir",
      description:
        "Publish a finished report to the Choir knowledge base. Citations come from cite_article and from [choir:ID] markers in the text; " +
        "each must be an already published report. Authors of cited reports earn citation rewards.",
      schema: z.object({
        title: z.string().min(1).max(300),
        body: z.string().optional().describe("The report text (markdown)"),
        path: z.string().optional().describe("Or: the path of the report file you wrote"),
        abstract: z.string().max(2000).optional(),
      }),
    },
  );

  return [search, cite, publish] as const;
}
