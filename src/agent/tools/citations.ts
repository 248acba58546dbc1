import { tool } from "langchain";
import { z } from "zod";
import { checkCitations, CITATION_SYNTAX, formatCitationProblems, uncitedLines } from "../citations.ts";
import { EventType } from "../../nats/index.ts";
import { readBackendText, type HostToolContext } from "./context.ts";

/**
 * `check_citations`: runs the deterministic checker on a draft in the sandbox against the sources
 * stored in the Object Store (never against the sandbox's copies, which the guest could alter).
 */
export function createCheckCitationsTool(ctx: HostToolContext, agent: string) {
  return tool(
    async ({ path }, config) => {
      const text = await readBackendText(ctx.backend, path);
      if (typeof text !== "string") return `Error: ${text.error}`;
      const result = checkCitations(text, ctx.sources.texts);
      const uncited = uncitedLines(text);
      const advice = uncited.length
        ? `\n${uncited.length} line(s) state something without a citation (cite them or cut them):\n${uncited.map((u) => `- line ${u.line}: ${u.text}`).join("\n")}`
        : "";
      await ctx.emit({
        id: `${agent}:${config.toolCall?.id ?? path}:citations`,
        type: EventType.CitationsChecked,
        agent,
        data: { path, ok: result.ok, citations: result.citations.length, problems: result.problems.map((p) => p.message), uncited: uncited.length },
      });
      if (result.ok) {
        return `All ${result.citations.length} citations in ${path} verified against sources ${result.verifiedSources.join(", ")}.${advice}`;
      }
      return `${result.problems.length} citation problem(s) in ${path} (${result.citations.length} citations):\n${formatCitationProblems(result.problems)}${advice}`;
    },
    {
      name: "check_citations",
      description:
        `Verify every citation in a draft file against the stored sources. Citations are written ${CITATION_SYNTAX}; ` +
        "each must name a stored source id and quote it exactly (whitespace may differ). Returns OK or the list of problems.",
      schema: z.object({ path: z.string().describe("Absolute path of the draft, e.g. /workspace/draft.md") }),
    },
  );
}
