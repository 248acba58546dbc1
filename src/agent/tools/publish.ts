import { createHash } from "node:crypto";
import { tool } from "langchain";
import { z } from "zod";
import { checkCitations, CITATION_SYNTAX, formatCitationProblems } from "../citations.ts";
import { EventType } from "../../nats/index.ts";
import { summarise } from "../events.ts";
import { readBackendText, type HostToolContext } from "./context.ts";

export const REPORT_ARTIFACT = (threadId: string) => `threads/${threadId}/report.md`;

/**
 * `publish_report`: the only way a report leaves the sandbox. Re-checks every citation on the
 * host; refuses (and says which citations fail) unless all verify; then stores the report in the
 * Object Store at `threads/<id>/report.md` and emits `report.published`, then one `citation` per citation. Publishing the same text
 * twice stores the same object and the same event id, so a replay after a crash changes nothing.
 */
export function createPublishReportTool(ctx: HostToolContext, agent: string) {
  return tool(
    async ({ path }) => {
      const text = await readBackendText(ctx.backend, path);
      if (typeof text !== "string") return `Error: ${text.error}`;
      const result = checkCitations(text, ctx.sources.texts);
      if (!result.ok) {
        return (
          `Error: refused to publish ${path}: ${result.problems.length} unverifiable citation(s). ` +
          `Fix them (each must be ${CITATION_SYNTAX} with an exact quote from that source) and publish again:\n` +
          formatCitationProblems(result.problems)
        );
      }
      const bytes = new TextEncoder().encode(text);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      const artifact = REPORT_ARTIFACT(ctx.threadId);
      await ctx.backbone.blobs.put(artifact, bytes);
      await ctx.emit({
        id: `${agent}:report:${sha256.slice(0, 16)}`,
        type: EventType.ReportPublished,
        agent,
        data: { artifact, sha256, bytes: bytes.length, citations: result.citations.length, sources: result.verifiedSources },
      });
      for (const [i, c] of result.citations.entries()) {
        await ctx.emit({
          id: `${agent}:report:${sha256.slice(0, 16)}:citation:${i}`,
          type: EventType.Citation,
          agent,
          data: { sourceId: c.sourceId, quote: summarise(c.quote) as string, line: c.line },
        });
      }
      return `Published ${path} to ${artifact} (${bytes.length} bytes, sha256 ${sha256.slice(0, 16)}…, ${result.citations.length} verified citations).`;
    },
    {
      name: "publish_report",
      description:
        "Publish the final report. Every citation is re-verified against the stored sources; a report with any unverifiable " +
        "citation is refused with the list of problems. On success the report is stored and the run's report is set.",
      schema: z.object({ path: z.string().describe("Absolute path of the final report, e.g. /workspace/report.md") }),
    },
  );
}
