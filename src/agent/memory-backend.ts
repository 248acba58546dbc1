/**
 * `/memories/` as the agent sees it: deepagents' `StoreBackend` over the NATS memory bucket (which
 * only the runtime identity may write), with every change published as a `memory.changed` event
 * on the thread that made it — memory reaches every later thread's prompt, so each change is on
 * the record with its size and SHA-256.
 */
import { createHash } from "node:crypto";
import type { BackendProtocolV2, DeleteResult, EditResult, FileUploadResponse, StoreBackend, WriteResult } from "deepagents";
import { EventType } from "../nats/index.ts";
import type { EmitEvent } from "./events.ts";

type MemoryOp = "write" | "edit" | "delete" | "upload";

export function recordedMemory(inner: StoreBackend, route: string, emit: EmitEvent): BackendProtocolV2 {
  const full = (p: string) => `${route.replace(/\/$/, "")}${p.startsWith("/") ? p : `/${p}`}`;
  const changed = async (path: string, op: MemoryOp, bytes?: Uint8Array | string) => {
    const data = bytes === undefined ? undefined : typeof bytes === "string" ? Buffer.from(bytes, "utf8") : Buffer.from(bytes);
    const sha256 = data ? createHash("sha256").update(data).digest("hex") : undefined;
    await emit({
      // The same change replayed after a crash is the same event.
      id: `memory:${op}:${full(path)}:${sha256 ?? "gone"}`,
      type: EventType.MemoryChanged,
      agent: "main",
      data: { path: full(path), op, ...(data ? { bytes: data.length, sha256 } : {}) },
    });
  };
  const current = async (path: string) => {
    const r = await inner.read(path, 0, Number.MAX_SAFE_INTEGER);
    return r.error ? undefined : r.content;
  };
  return {
    ls: (p) => inner.ls(p),
    read: (p, o, l) => inner.read(p, o, l),
    readRaw: (p) => inner.readRaw(p),
    grep: (p, path, g, m) => inner.grep(p, path ?? undefined, g, m),
    glob: (p, path) => inner.glob(p, path ?? undefined),
    downloadFiles: (paths) => inner.downloadFiles(paths),
    async write(path, content): Promise<WriteResult> {
      const r = await inner.write(path, content);
      if (!r.error) await changed(path, "write", content);
      return r;
    },
    async edit(path, oldString, newString, replaceAll): Promise<EditResult> {
      const r = await inner.edit(path, oldString, newString, replaceAll);
      if (!r.error) await changed(path, "edit", (await current(path)) ?? "");
      return r;
    },
    async delete(path): Promise<DeleteResult> {
      const r = await inner.delete(path);
      if (!r.error) await changed(path, "delete");
      return r;
    },
    async uploadFiles(files): Promise<FileUploadResponse[]> {
      const res = await inner.uploadFiles(files);
      for (const [i, [path, bytes]] of files.entries()) if (!res[i]?.error) await changed(path, "upload", bytes);
      return res;
    },
  };
}
