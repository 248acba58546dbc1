import type { ArtifactStore } from "./artifacts.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/**
 * The Object Store as named blobs: whole values in and out, a missing name read as `null`, a
 * missing name deleted as a no-op. The one adapter behind the agent's `ArtifactPort` and the
 * sandbox's `WorkspaceStore` (both are this shape; neither layer sees NATS errors).
 */
export type ArtifactBlobs = ReturnType<typeof artifactBlobs>;

export function artifactBlobs(store: ArtifactStore) {
  return {
    async put(name: string, data: Uint8Array, opts?: { isNew?: boolean }): Promise<void> {
      await store.put(name, data, opts);
    },
    async get(name: string): Promise<Uint8Array | null> {
      try {
        return await store.getBytes(name);
      } catch (err) {
        if (NatsBackboneError.isInstance(err, NatsErrorCode.NotFound)) return null;
        throw err;
      }
    },
    async list(prefix: string): Promise<string[]> {
      return (await store.list(prefix)).map((i) => i.name);
    },
    async delete(name: string): Promise<void> {
      try {
        await store.delete(name);
      } catch (err) {
        if (!NatsBackboneError.isInstance(err, NatsErrorCode.NotFound)) throw err;
      }
    },
  };
}
