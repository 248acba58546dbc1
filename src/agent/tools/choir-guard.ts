import type { StructuredTool } from "@langchain/core/tools";
import { tool } from "langchain";
import { z } from "zod";
import { checkCitations, CITATION_SYNTAX, formatCitationProblems } from "../citations.ts";
import { readBackendText, type HostToolContext } from "./context.ts";

/**
 * `publish_to_choir` with the same gate as `publish_report`: the text (from `body` or `path`) must
 * pass the citation checker against the thread's stored sources before it reaches the Choir.
 */
export function guardChoirPublish(inner: StructuredTool, ctx: HostToolContext): StructuredTool {
  const schema = z.object({
    title: z.string().min(1).max(300),
    body: z.string().optional().describe("The report text (markdown)"),
    path: z.string().optional().describe("Or: the path of the report file you wrote"),
    abstract: z.string().max(2000).optional(),
  });
  return tool(
    async (args: z.infer<typeof schema>) => {
      const text = args.path ? await readBackendText(ctx.backend, args.path) : (args.body ?? "");
      if (typeof text !== "string") return `Error: ${text.error}`;
      const result = checkCitations(text, ctx.sources.texts);
      if (!result.ok) {
        return `Error: refused to publish to the Choir: ${result.problems.length} unverifiable citation(s) (write them as ${CITATION_SYNTAX}):\n${formatCitationProblems(result.problems)}`;
      }
      return (await inner.invoke(args)) as string;
    },
    { name: inner.name, description: inner.description, schema },
  ) as unknown as StructuredTool;
}
