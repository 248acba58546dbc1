import type { BackendProtocolV2 } from "deepagents";
import type { ArtifactPort } from "./ports.ts";
import { readSourceManifest, readSourceTexts, SOURCE_PATHS, sourceUploads, storeSources, type Source, type SourceInfo } from "./sources.ts";

/**
 * One thread's sources during one run: read from the Object Store once, when the run is prepared
 * (never from the sandbox, whose copies the guest could alter), and kept current as the run stores
 * more (`fetch_url`, a child's report). The host tools check citations against it rather than each
 * reading the thread's sources again.
 */
export class ThreadSources {
  private constructor(
    private readonly blobs: ArtifactPort,
    readonly threadId: string,
    private manifest: SourceInfo[],
    private readonly byId: Map<string, string>,
  ) {}

  static async load(blobs: ArtifactPort, threadId: string): Promise<ThreadSources> {
    const infos = await readSourceManifest(blobs, threadId);
    return new ThreadSources(blobs, threadId, infos, await readSourceTexts(blobs, infos));
  }

  /** What the thread's manifest lists, in its order. */
  get infos(): readonly SourceInfo[] {
    return this.manifest;
  }

  /** `id → text` of every stored source: what citations are checked against. */
  get texts(): ReadonlyMap<string, string> {
    return this.byId;
  }

  /**
   * Store `sources` with the thread (content-addressed, so storing twice is harmless; the manifest
   * updated) and, given a sandbox, place their texts there with the thread's whole index, in the
   * same turn of the manifest. Resolves with what could not be placed ("" when all was).
   */
  async add(sources: readonly Source[], sandbox?: Pick<BackendProtocolV2, "uploadFiles">): Promise<string> {
    let unplaced = "";
    await storeSources(this.blobs, this.threadId, sources, async (infos) => {
      this.manifest = infos;
      for (const s of sources) this.byId.set(s.id, s.text);
      if (!sandbox) return;
      const texts = new Map(sources.map((s) => [s.id, s.text]));
      // The new texts plus the whole thread's index, so the index stays complete.
      const uploads = sourceUploads(infos.filter((i) => texts.has(i.id)), texts).filter(([p]) => p !== SOURCE_PATHS.sandboxIndex);
      uploads.push(sourceUploads(infos, new Map()).at(-1)!);
      const failed = ((await sandbox.uploadFiles?.(uploads)) ?? []).filter((f) => f.error);
      if (failed.length > 0) unplaced = failed.map((f) => `${f.path}: ${f.error}`).join(", ");
    });
    return unplaced;
  }
}
