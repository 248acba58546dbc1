import type { BackendProtocolV2 } from "deepagents";
import type { EmitEvent } from "../events.ts";
import type { AgentBackbone } from "../ports.ts";
import type { ThreadSources } from "../thread-sources.ts";

/** What the host-side tools need: the thread, the backbone, its sources and the agent's file view. */
export interface HostToolContext {
  threadId: string;
  backbone: AgentBackbone;
  /** The agent's composite backend (sandbox + /memories/). */
  backend: BackendProtocolV2;
  emit: EmitEvent;
  /** The thread's sources, read once for the run: citations are checked against it, new sources added to it. */
  sources: ThreadSources;
  /** `fetch_url` may reach loopback and private addresses (an intranet; tests). */
  allowPrivateNetwork?: boolean;
}

/** Read a whole text file through the backend (binary-safe download when available). */
export async function readBackendText(backend: BackendProtocolV2, path: string): Promise<string | { error: string }> {
  if (backend.downloadFiles) {
    const [res] = await backend.downloadFiles([path]);
    if (!res || res.error || !res.content) return { error: `cannot read ${path}: ${res?.error ?? "no content"}` };
    return new TextDecoder().decode(res.content);
  }
  const res = await backend.readRaw(path);
  if (res.error || !res.data) return { error: `cannot read ${path}: ${res.error ?? "no content"}` };
  const content: unknown = res.data.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.join("\n"); // v1 file data: lines
  return new TextDecoder().decode(content as Uint8Array);
}
