/**
 * Where a thread's /workspace is persisted: a flat namespace of named blobs. Names are
 * `threads/<threadId>/workspace/<relpath>`. The NATS Object Store implements it (see
 * `artifactWorkspace`); the contract is small so the backend does not depend on NATS details.
 */
import type { ArtifactStore } from "../nats/artifacts.ts";
import { NatsBackboneError, NatsErrorCode } from "../nats/errors.ts";

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

/** A WorkspaceStore over the NATS Object Store, through the backbone's ArtifactStore. */
export function artifactWorkspace(artifacts: ArtifactStore): WorkspaceStore {
  return {
    async put(name, data) {
      await artifacts.put(name, data);
    },
    async get(name) {
      try {
        return await artifacts.getBytes(name);
      } catch (err) {
        if (NatsBackboneError.isInstance(err, NatsErrorCode.NotFound)) return null;
        throw err;
      }
    },
    async list(prefix) {
      return (await artifacts.list(prefix)).map((i) => i.name);
    },
    async delete(name) {
      try {
        await artifacts.delete(name);
      } catch (err) {
        if (!NatsBackboneError.isInstance(err, NatsErrorCode.NotFound)) throw err;
      }
    },
  };
}
