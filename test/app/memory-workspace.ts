import type { WorkspaceStore } from "../../src/sandbox/ports.ts";

/** A WorkspaceStore in a Map: the sandbox's port with no NATS behind it. */
export function memoryWorkspace(): WorkspaceStore & { blobs: Map<string, Uint8Array> } {
  const blobs = new Map<string, Uint8Array>();
  return {
    blobs,
    async put(name, data) {
      blobs.set(name, data.slice());
    },
    async get(name) {
      return blobs.get(name) ?? null;
    },
    async list(prefix) {
      return [...blobs.keys()].filter((n) => n.startsWith(prefix));
    },
    async delete(name) {
      blobs.delete(name);
    },
  };
}
