import { tool } from "langchain";
import { z } from "zod";
import { EventType } from "../../nats/index.ts";
import { SOURCE_LIMITS, SOURCE_PATHS, sourceFromBytes } from "../sources.ts";
import type { HostToolContext } from "./context.ts";
import { guardedFetch } from "./guarded-fetch.ts";

const FETCH_TIMEOUT_MS = 20_000;

/**
 * `fetch_url`: fetches a web page on the host (the VM has no network), turns it into a source with
 * a content-derived id, stores it like a `--sources` file and places it in the sandbox. Only
 * registered when the configuration allows network access (off by default). Private and local
 * addresses are refused unless the owner allows them (`guarded-fetch.ts`).
 */
export function createFetchUrlTool(ctx: HostToolContext, agent: string) {
  return tool(
    async ({ url }, config) => {
      const fetched = await guardedFetch(url, {
        maxBytes: SOURCE_LIMITS.maxFileBytes,
        timeoutMs: FETCH_TIMEOUT_MS,
        allowPrivateAddresses: ctx.allowPrivateNetwork === true,
      });
      if (!fetched.ok) return `Error: ${fetched.error}`;
      const parsed = new URL(fetched.finalUrl);
      const bytes = fetched.bytes;
      let source;
      try {
        source = await sourceFromBytes(parsed.href, bytes);
      } catch (err) {
        return `Error: ${(err as Error).message}`;
      }
      const placed = await ctx.sources.add([source], ctx.backend);
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
