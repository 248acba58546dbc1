import { tool } from "langchain";
import { z } from "zod";
import { EventType } from "../../nats/event-types.ts";
import { SOURCE_LIMITS, SOURCE_PATHS, sourceFromBytes, sourceUploads, storeSources } from "../sources.ts";
import type { HostToolContext } from "./context.ts";

const FETCH_TIMEOUT_MS = 20_000;

/**
 * `fetch_url`: fetches a web page on the host (the VM has no network), turns it into a source with
 * a content-derived id, stores it like a `--sources` file and places it in the sandbox. Only
 * registered when the configuration allows network access (off by default).
 */
export function createFetchUrlTool(ctx: HostToolContext, agent: string) {
  return tool(
    async ({ url }, config) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return `Error: "${url}" is not a URL`;
      }
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return `Error: only http and https URLs can be fetched`;
      let bytes: Uint8Array;
      try {
        const res = await fetch(parsed, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: "follow" });
        if (!res.ok) return `Error: ${url} answered HTTP ${res.status}`;
        const length = Number(res.headers.get("content-length") ?? "0");
        if (length > SOURCE_LIMITS.maxFileBytes) return `Error: ${url} is too large (${length} bytes)`;
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (err) {
        return `Error: could not fetch ${url}: ${(err as Error).message}`;
      }
      let source;
      try {
        source = await sourceFromBytes(parsed.href, bytes);
      } catch (err) {
        return `Error: ${(err as Error).message}`;
      }
      let placed = "";
      await storeSources(ctx.backbone.artifacts, ctx.threadId, [source], async (infos) => {
        // The new text plus the whole thread's index, so the index stays complete.
        const uploads = sourceUploads(infos.filter((i) => i.id === source.id), new Map([[source.id, source.text]])).filter(([p]) => p !== SOURCE_PATHS.sandboxIndex);
        uploads.push(sourceUploads(infos, new Map()).at(-1)!);
        const results = (await ctx.backend.uploadFiles?.(uploads)) ?? [];
        const failed = results.filter((r) => r.error);
        if (failed.length > 0) placed = failed.map((f) => `${f.path}: ${f.error}`).join(", ");
      });
      if (placed) return `Error: stored ${source.id} but could not place it in the sandbox (${placed})`;
      await ctx.emit({
        id: `${agent}:${config.toolCall?.id ?? source.id}:source`,
        type: EventType.SourceStored,
        agent,
        data: { id: source.id, origin: source.origin, kind: source.kind, chars: source.chars },
      });
      return `Stored ${url} as source ${source.id} (${source.chars} characters) at ${SOURCE_PATHS.sandboxFile(source.id)}.`;
    },
    {
      name: "fetch_url",
      description: "Fetch a web page (http/https) and store it as a citable source; returns its source id and sandbox path.",
      schema: z.object({ url: z.string().describe("The page to fetch") }),
    },
  );
}
