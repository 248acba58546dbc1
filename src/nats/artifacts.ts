import type { JetStreamManager } from "@nats-io/jetstream";
import type { ObjectInfo, ObjectStore } from "@nats-io/obj";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

/** What the store knows about one artifact. */
export interface ArtifactInfo {
  name: string;
  size: number;
  chunks: number;
  /** `SHA-256=<base64url>` of the content, checked on every read. */
  digest: string;
  mtime: Date;
  description?: string;
}

/** An artifact being read: its info and its bytes as a stream (the digest is checked at the end). */
export interface ArtifactReader {
  info: ArtifactInfo;
  stream: ReadableStream<Uint8Array>;
}

export type ArtifactContent = Uint8Array | string | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export interface ArtifactStoreOptions {
  os: ObjectStore;
  jsm: JetStreamManager;
  /** Object Store bucket name (its stream is `OBJ_<bucket>`). */
  bucket: string;
  /** Chunk size; clamped to the server's max_payload. Default 1 MiB (fast, per NOTES.md). */
  chunkSize?: number;
}

/** Names are UTF-8 strings of 1..1024 bytes without NUL; slashes and any other character are fine. */
export const MAX_ARTIFACT_NAME_BYTES = 1024;

/**
 * Research artifacts and workspace files in the JetStream Object Store (`VIBEWRITER_FILES`),
 * e.g. `threads/<threadId>/workspace/<path>` or `sources/<id>`. Content of any size is streamed
 * in and out in 1 MiB chunks with Node's native SHA-256 (the caller of `openBackbone` has set it).
 *
 * A put that dies midway (process killed, server gone) leaves chunks no object points at — the
 * metadata is written last. `sweep()` removes such chunks once they are older than a grace period
 * (so a put still running in another process is left alone).
 */
export class ArtifactStore {
  readonly #os: ObjectStore;
  readonly #jsm: JetStreamManager;
  readonly #bucket: string;
  readonly #stream: string;
  readonly #chunkSize: number;

  constructor(opts: ArtifactStoreOptions) {
    this.#os = opts.os;
    this.#jsm = opts.jsm;
    this.#bucket = opts.bucket;
    this.#stream = `OBJ_${opts.bucket}`;
    this.#chunkSize = opts.chunkSize ?? 1024 * 1024;
  }

  /** Store (or replace) an artifact; resolves once the object is complete and acknowledged. */
  async put(name: string, content: ArtifactContent, opts: { description?: string } = {}): Promise<ArtifactInfo> {
    checkName(name);
    const stream = toReadableStream(content);
    try {
      const info = await this.#os.put(
        { name, description: opts.description, options: { max_chunk_size: this.#chunkSize } },
        stream,
      );
      return toInfo(info);
    } catch (cause) {
      throw new NatsBackboneError(NatsErrorCode.WriteFailed, `could not store artifact "${name}"`, { cause });
    }
  }

  /** Open an artifact for streaming; throws NOT_FOUND when it does not exist. */
  async get(name: string): Promise<ArtifactReader> {
    checkName(name);
    const r = await this.#os.get(name);
    if (!r) throw notFound(name);
    // Surface a digest mismatch or a missing chunk as a stream error, not a silent short read.
    const reader = r.data.getReader();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (!done) {
          controller.enqueue(value);
          return;
        }
        const err = await r.error;
        if (err) {
          controller.error(new NatsBackboneError(NatsErrorCode.Corrupt, `artifact "${name}" is damaged`, { cause: err }));
        } else {
          controller.close();
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    return { info: toInfo(r.info), stream };
  }

  /** The artifact's bytes as an async iterable of chunks. */
  async *read(name: string): AsyncGenerator<Uint8Array> {
    const { stream } = await this.get(name);
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }

  /** The whole artifact in memory (for small ones). */
  async getBytes(name: string): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const c of this.read(name)) chunks.push(c);
    return Buffer.concat(chunks);
  }

  /** Info, or null when there is no such artifact. */
  async info(name: string): Promise<ArtifactInfo | null> {
    checkName(name);
    const i = await this.#os.info(name);
    return i && !i.deleted ? toInfo(i) : null;
  }

  /** Artifacts whose name starts with `prefix`, sorted by name. */
  async list(prefix = ""): Promise<ArtifactInfo[]> {
    const all = await this.#os.list();
    return all
      .filter((i) => !i.deleted && i.name.startsWith(prefix))
      .map(toInfo)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Delete; throws NOT_FOUND when it does not exist. */
  async delete(name: string): Promise<void> {
    checkName(name);
    if (!(await this.info(name))) throw notFound(name);
    await this.#os.delete(name);
  }

  /**
   * Remove chunks that belong to no object (left by interrupted puts) and whose newest chunk is
   * older than `olderThanMs` (default 10 minutes).
   */
  async sweep(opts: { olderThanMs?: number } = {}): Promise<{ orphans: number; chunks: number }> {
    const olderThan = opts.olderThanMs ?? 10 * 60_000;
    const chunkPrefix = `$O.${this.#bucket}.C.`;
    const info = await this.#jsm.streams.info(this.#stream, { subjects_filter: `${chunkPrefix}>` });
    const subjects = info.state.subjects ?? {};
    const live = new Set<string>();
    for (const i of await this.#os.list()) if (!i.deleted) live.add(i.nuid);
    // A put finishing right now writes its metadata after we listed: re-check each candidate.
    let orphans = 0;
    let chunks = 0;
    for (const [subject, count] of Object.entries(subjects)) {
      const nuid = subject.slice(chunkPrefix.length);
      if (live.has(nuid)) continue;
      const last = await this.#jsm.direct.getMessage(this.#stream, { last_by_subj: subject });
      if (!last) continue;
      if (Date.now() - new Date(last.timestamp).getTime() < olderThan) continue;
      await this.#jsm.streams.purge(this.#stream, { filter: subject });
      orphans += 1;
      chunks += count;
    }
    return { orphans, chunks };
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new NatsBackboneError(NatsErrorCode.InvalidName, "artifact name must be a non-empty string");
  }
  if (name.includes("\u0000")) {
    throw new NatsBackboneError(NatsErrorCode.InvalidName, "artifact name must not contain NUL characters");
  }
  // The Object Store keeps names as UTF-8, which has no encoding for an unpaired surrogate.
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name)) {
    throw new NatsBackboneError(NatsErrorCode.InvalidName, "artifact name contains an unpaired UTF-16 surrogate");
  }
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_ARTIFACT_NAME_BYTES) {
    throw new NatsBackboneError(
      NatsErrorCode.InvalidName,
      `artifact name is ${bytes} bytes; the limit is ${MAX_ARTIFACT_NAME_BYTES}`,
    );
  }
}

function notFound(name: string): NatsBackboneError {
  return new NatsBackboneError(NatsErrorCode.NotFound, `no artifact named "${name}"`);
}

function toInfo(i: ObjectInfo): ArtifactInfo {
  const out: ArtifactInfo = { name: i.name, size: i.size, chunks: i.chunks, digest: i.digest, mtime: new Date(i.mtime) };
  if (i.description) out.description = i.description;
  return out;
}

function toReadableStream(content: ArtifactContent): ReadableStream<Uint8Array> {
  if (content instanceof ReadableStream) return content;
  if (typeof content === "string" || content instanceof Uint8Array) {
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    return new ReadableStream({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(bytes);
        controller.close();
      },
    });
  }
  if (content && typeof (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    const it = (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    return new ReadableStream({
      async pull(controller) {
        const { done, value } = await it.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await it.return?.();
      },
    });
  }
  throw new NatsBackboneError(
    NatsErrorCode.InvalidArgument,
    "artifact content must be a Uint8Array, a string, a ReadableStream or an AsyncIterable of Uint8Array",
  );
}
