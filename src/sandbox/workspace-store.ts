/**
 * Where a thread's /workspace is persisted: a flat namespace of named blobs. Names are
 * `threads/<threadId>/workspace/<relpath>`. The NATS Object Store implements it (see
 * `objectStoreWorkspace`); the contract is small so the backend does not depend on NATS details.
 */
import type { ObjectStore } from "@nats-io/obj";

export interface WorkspaceStore {
  put(name: string, data: Uint8Array): Promise<void>;
  /** null when there is no such object. */
  get(name: string): Promise<Uint8Array | null>;
  /** Names starting with `prefix`. */
  list(prefix: string): Promise<string[]>;
  /** Deleting a missing name is not an error. */
  delete(name: string): Promise<void>;
}

export function workspacePrefix(threadId: string): string {
  return `threads/${threadId}/workspace/`;
}

/** A WorkspaceStore over a NATS Object Store bucket. */
export function objectStoreWorkspace(os: ObjectStore): WorkspaceStore {
  return {
    async put(name, data) {
      await os.putBlob({ name }, data);
    },
    async get(name) {
      return os.getBlob(name);
    },
    async list(prefix) {
      const infos = await os.list();
      return infos.filter((i) => !i.deleted && i.name.startsWith(prefix)).map((i) => i.name);
    },
    async delete(name) {
      const info = await os.info(name);
      if (info && !info.deleted) await os.delete(name);
    },
  };
}
