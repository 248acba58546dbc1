import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { ObjectInfo, ObjectStore } from "@nats-io/obj";
import { headers, nuid, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { objectChunkSubjectPrefix, objectInfoSubjectPrefix, objectStoreStreamName } from "./streams.ts";

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
  /** Chunk size; clamped to the server's max_payload. Default 512 KiB (fastest here, bench/artifacts.ts). */
  chunkSize?: number;
}

/** Chunks published and not yet acknowledged, at most (a put's write window). */
const PUT_WINDOW = 16;
/** Objects of up to this many chunks are read with direct gets (no consumer to set up). */
const DIRECT_CHUNKS = 4;
/** Tries of a small object's direct gets before a chunk is called missing, and the backoff step. */
const DIRECT_ATTEMPTS = 4;
const DIRECT_RETRY_MS = 100;
/** How far a read of a many-chunk object runs ahead of its reader. */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;
const ACK_TIMEOUT_MS = 10_000;

/** An object's info as the Object Store stores it. */
interface ServerObjectInfo {
  name: string;
  description: string;
  options: { max_chunk_size: number };
  bucket: string;
  nuid: string;
  size: number;
  chunks: number;
  mtime: string;
  digest: string;
  deleted: boolean;
}

/** Names are 1..1024 UTF-8 bytes of characters from U+0001 to U+00FF (the Object Store client encodes names with btoa); slashes and spaces are fine. */
export const MAX_ARTIFACT_NAME_BYTES = 1024;

/**
 * Research artifacts and workspace files in the JetStream Object Store (`VIBEWRITER_FILES`),
 * e.g. `threads/<threadId>/workspace/<path>` or `sources/<id>`. Content of any size is streamed
 * in and out in 512 KiB chunks with Node's native SHA-256 (the caller of `openBackbone` has set it).
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
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;

  constructor(opts: ArtifactStoreOptions) {
    this.#os = opts.os;
    this.#jsm = opts.jsm;
    this.#nc = (opts.jsm as unknown as { getConnection(): NatsConnection }).getConnection();
    this.#js = opts.jsm.jetstream();
    this.#bucket = opts.bucket;
    this.#stream = objectStoreStreamName(opts.bucket);
    this.#chunkSize = opts.chunkSize ?? 512 * 1024;
  }

  /**
   * Store (or replace) an artifact; resolves once the object is complete and acknowledged. The
   * layout is the Object Store's own (chunks on `$O.<bucket>.C.<nuid>`, then the info on
   * `$O.<bucket>.M.<name>`), written faster than the client library does it: chunks go out with
   * up to `PUT_WINDOW` acknowledgements outstanding, hashed with Node's SHA-256, and the lookup of
   * the object being replaced runs meanwhile. `isNew`: the caller knows of no object of this name
   * (the workspace sync, for files it has not saved), so that lookup is skipped; were there one
   * after all, its chunks would be left for `sweep()`.
   */
  async put(name: string, content: ArtifactContent, opts: { description?: string; isNew?: boolean } = {}): Promise<ArtifactInfo> {
    checkName(name);
    const source = toAsyncIterable(content);
    const id = nuid.next();
    const chunkSubject = objectChunkSubjectPrefix(this.#bucket) + id;
    const chunkSize = Math.min(this.#chunkSize, this.#nc.info?.max_payload ?? this.#chunkSize);
    const previous = opts.isNew ? Promise.resolve(null) : this.#os.info(name).catch(() => null); // only for removing its chunks
    const hash = createHash("sha256");
    const inflight: Promise<void>[] = [];
    let size = 0;
    let chunks = 0;
    try {
      const send = async (payload: Uint8Array) => {
        hash.update(payload);
        size += payload.length;
        chunks += 1;
        const acked = this.#publish(chunkSubject, payload);
        acked.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
        inflight.push(acked);
        if (inflight.length >= PUT_WINDOW) await inflight.shift();
      };
      // Each chunk is a buffer of its own (a producer may reuse what it handed over).
      let buf = Buffer.allocUnsafe(chunkSize);
      let fill = 0;
      for await (const piece of source) {
        for (let off = 0; off < piece.length; ) {
          const n = Math.min(chunkSize - fill, piece.length - off);
          buf.set(piece.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === chunkSize) {
            await send(buf);
            buf = Buffer.allocUnsafe(chunkSize);
            fill = 0;
          }
        }
      }
      if (fill > 0) await send(buf.subarray(0, fill));
      await Promise.all(inflight);
      const info: ServerObjectInfo = {
        name,
        description: opts.description ?? "",
        options: { max_chunk_size: chunkSize },
        bucket: this.#bucket,
        nuid: id,
        size,
        chunks,
        mtime: new Date().toISOString(),
        // base64url with padding, as the Object Store writes it (32 bytes: one "=")
        digest: `SHA-256=${hash.digest("base64url")}=`,
        deleted: false,
      };
      const h = headers();
      h.set("Nats-Rollup", "sub"); // the info replaces the previous one of this name
      await this.#publish(metaSubject(this.#bucket, name), new TextEncoder().encode(JSON.stringify(info)), h);
      const old = await previous;
      if (old && old.nuid !== id) {
        // The new object is live; the old chunks go (a failure here only leaves orphans for sweep()).
        await this.#jsm.streams.purge(this.#stream, { filter: objectChunkSubjectPrefix(this.#bucket) + old.nuid }).catch(() => {});
      }
      return toInfo(info as unknown as ObjectInfo);
    } catch (cause) {
      await Promise.allSettled(inflight);
      await this.#jsm.streams.purge(this.#stream, { filter: chunkSubject }).catch(() => {});
      if (NatsBackboneError.isInstance(cause, NatsErrorCode.InvalidArgument)) throw cause;
      throw new NatsBackboneError(NatsErrorCode.WriteFailed, `could not store artifact "${name}"`, { cause });
    }
  }

  /** One acknowledged publish (no retry: chunks must land in order; a failed put is cleaned up). */
  async #publish(subject: string, data: Uint8Array, h?: MsgHdrs): Promise<void> {
    const reply = await this.#nc.request(subject, data, { timeout: ACK_TIMEOUT_MS, headers: h });
    if (reply.data.length === 0) throw new Error(reply.headers?.description || "no responders");
    const ack = reply.json<{ error?: { description?: string }; seq?: number }>();
    if (ack.error || typeof ack.seq !== "number") throw new Error(ack.error?.description ?? "invalid ack");
  }

  /** Open an artifact for streaming; throws not_found when it does not exist. */
  async get(name: string): Promise<ArtifactReader> {
    checkName(name);
    const info = await this.#os.info(name);
    if (!info || info.deleted) throw notFound(name);
    if (info.options?.link) return this.#getLinked(name);
    const expected = info.digest.startsWith("SHA-256=") ? Buffer.from(info.digest.slice(8), "base64url") : undefined;
    if (!expected || expected.length !== 32) throw new NatsBackboneError(NatsErrorCode.Corrupt, `artifact "${name}" has an unknown digest`);
    const chunks = this.#chunks(objectChunkSubjectPrefix(this.#bucket) + info.nuid, info.chunks);
    const hash = createHash("sha256");
    let got = 0;
    const damaged = (why: string) => new NatsBackboneError(NatsErrorCode.Corrupt, `artifact "${name}" is damaged: ${why}`);
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await chunks.next();
          if (!done) {
            hash.update(value);
            got += value.length;
            controller.enqueue(value);
            return;
          }
          if (got !== info.size) controller.error(damaged(`read ${got} bytes of ${info.size}`));
          else if (!hash.digest().equals(expected)) controller.error(damaged("its digest does not match"));
          else controller.close();
        } catch (cause) {
          controller.error(new NatsBackboneError(NatsErrorCode.Corrupt, `artifact "${name}" is damaged`, { cause }));
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
    return { info: toInfo(info), stream };
  }

  /**
   * The chunks of an object in order: direct gets for a few chunks (most files: one round trip for
   * one or two), else a one-shot ordered consumer reading ahead up to `READ_AHEAD_BYTES`.
   */
  async *#chunks(subject: string, count: number): AsyncGenerator<Uint8Array, void, undefined> {
    if (count === 0) return;
    if (count <= DIRECT_CHUNKS) {
      // On a cluster a direct get may be answered by a replica that has not caught up with a write
      // just acknowledged (or time out on a node that died): a few tries before a chunk is missing.
      for (let attempt = 1; ; attempt++) {
        try {
          yield* await this.#directChunks(subject, count);
          return;
        } catch (err) {
          if (attempt >= DIRECT_ATTEMPTS) throw err;
          await sleep(DIRECT_RETRY_MS * attempt);
        }
      }
    }
    const consumer = await this.#js.consumers.get(this.#stream, { filter_subjects: subject });
    if ((await consumer.info(true)).num_pending === 0) throw new Error(`its ${count} chunks are missing`);
    const messages = await consumer.consume({ max_bytes: READ_AHEAD_BYTES });
    let n = 0;
    try {
      for await (const m of messages) {
        n += 1;
        if (m.data.length > 0) yield m.data;
        if (m.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
    if (n !== count) throw new Error(`${count - n} of its ${count} chunks are missing`);
  }

  /** A small object's chunks by direct gets, all of them before any is handed on (so a retry starts clean). */
  async #directChunks(subject: string, count: number): Promise<Uint8Array[]> {
    // The first and the last at once, the ones between (if any) one after the other.
    const [first, last] = await Promise.all([
      this.#jsm.direct.getMessage(this.#stream, { seq: 0, next_by_subj: subject }),
      count > 1 ? this.#jsm.direct.getMessage(this.#stream, { last_by_subj: subject }) : null,
    ]);
    if (!first || (count > 1 && (!last || last.seq === first.seq))) throw new Error("a chunk is missing");
    const chunks = [first.data];
    let at = first.seq;
    for (let i = 2; i < count; i++) {
      const m = await this.#jsm.direct.getMessage(this.#stream, { seq: at + 1, next_by_subj: subject });
      if (!m || m.seq >= last!.seq) throw new Error("a chunk is missing");
      chunks.push(m.data);
      at = m.seq;
    }
    if (last) chunks.push(last.data);
    return chunks;
  }

  /** A link (made by other tools; Vibewriter never writes one): the client library follows it. */
  async #getLinked(name: string): Promise<ArtifactReader> {
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

  /** Delete; throws not_found when it does not exist. */
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
    const chunkPrefix = objectChunkSubjectPrefix(this.#bucket);
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
  if (/[^\u0001-\u00ff]/.test(name)) {
    throw new NatsBackboneError(
      NatsErrorCode.InvalidName,
      "artifact name has a character beyond U+00FF, which the Object Store cannot name (its client encodes names with btoa)",
    );
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

/** The content as pieces of bytes, whatever form it came in. */
async function* toAsyncIterable(content: ArtifactContent): AsyncGenerator<Uint8Array> {
  if (typeof content === "string") {
    yield new TextEncoder().encode(content);
    return;
  }
  if (content instanceof Uint8Array) {
    yield content;
    return;
  }
  if (content instanceof ReadableStream) {
    const reader = content.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield checkPiece(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (content && typeof (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    for await (const piece of content as AsyncIterable<Uint8Array>) yield checkPiece(piece);
    return;
  }
  throw new NatsBackboneError(
    NatsErrorCode.InvalidArgument,
    "artifact content must be a Uint8Array, a string, a ReadableStream or an AsyncIterable of Uint8Array",
  );
}

function checkPiece(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  throw new NatsBackboneError(NatsErrorCode.InvalidArgument, "artifact content must yield Uint8Array pieces");
}

/**
 * The Object Store's subject for an object's info: the name base64url-encoded with padding. The
 * client library encodes the name's UTF-16 code units as single bytes (`btoa`), so this does too
 * (names beyond U+00FF are refused by checkName: the library could not address them).
 */
function metaSubject(bucket: string, name: string): string {
  const b64 = Buffer.from(name, "latin1").toString("base64url");
  return `${objectInfoSubjectPrefix(bucket)}${b64}${"=".repeat((4 - (b64.length % 4)) % 4)}`;
}
