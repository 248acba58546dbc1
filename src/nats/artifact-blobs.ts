import type { ArtifactStore } from "./artifacts.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/**
 * The Object Store as named blobs: whole values in and out, a missing name read as `null`, a
 * missing name deleted as a no-op. The one adapter behind the agent's `ArtifactPort` and the
 * sandbox's `WorkspaceStore` (both are this shape; neither layer sees NATS errors).
 */
export interface ArtifactBlobs {
  put(name: string, data: Uint8Array): Promise<void>;
  get(name: string): Promise<Uint8Array | null>;
  list(prefix: string): Promise<string[]>;
  delete(name: string): Promise<void>;
}

export function artifactBlobs(store: ArtifactStore): ArtifactBlobs {
  return {
    async put(name, data) {
      await store.put(name, data);
    },
    async get(name) {
      try {
        return await store.getBytes(name);
      } catch (err) {
        if (NatsBackboneError.isInstance(err, NatsErrorCode.NotFound)) return null;
        throw err;
      }
    },
    async list(prefix) {
      return (await store.list(prefix)).map((i) => i.name);
    },
    async delete(name) {
      try {
        await store.delete(name);
      } catch (err) {
        if (!NatsBackboneError.isInstance(err, NatsErrorCode.NotFound)) throw err;
      }
    },
  };
}
