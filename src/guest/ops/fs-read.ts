/** `read` (byte window or line window, binary-safe) and `download` (many files). */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { confine, rootContaining, type Resolved } from "../confine.ts";
import { catFiles, type Candidate } from "../content-load.ts";
import { OP_TIME_MS } from "../budget.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError, toGuestAgentError } from "../errors.ts";
import type { OpRequest, RequestContext } from "../request-context.ts";
import type { CachedEntry } from "../tree-cache.ts";
import { ErrorCode, MAX_FILES_PER_FRAME, MAX_FRAME_BODY, OP_SCHEMAS, resolveViewPath, type DownloadResult, type ReadResult } from "../../protocol/index.ts";

/** Largest file a download reads through `cat` (bigger ones stream from the file in frames). */
const MAX_CAT_FILE = MAX_FRAME_BODY;

const DEFAULT_LINE_LIMIT = OP_SCHEMAS.read.limits.defaultLineLimit;

const NL = 0x0a;

/** An open regular file; `close()` must be called. Synchronous I/O: see confine.ts. */
export interface OpenFile {
  fd: number;
  view: string;
  /** The confined real path it was opened at. */
  real: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  close(): void;
}

/**
 * Opens a confined regular file for reading without following a last-moment symlink. `confined`:
 * the path already resolved by the caller (edit confines once, for writing).
 */
export function openRegular(ctx: AgentContext, path: unknown, confined?: Resolved, listed?: CachedEntry): OpenFile {
  const { real, view } = confined ?? confine(ctx, path, "read");
  if (listed?.kind === "dir") throw new GuestAgentError(ErrorCode.IsDirectory, `${view}: is a directory`);
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw toGuestAgentError(err, view);
  }
  const close = (): void => closeSync(fd);
  // A listed file's size and times are current (see tree-cache.ts): no fstat and Stats object.
  if (listed?.kind === "file") return { fd, view, real, size: listed.size, mtimeMs: listed.mtimeMs, ctimeMs: listed.ctimeMs, close };
  const st = fstatSync(fd);
  if (st.isDirectory()) {
    close();
    throw new GuestAgentError(ErrorCode.IsDirectory, `${view}: is a directory`);
  }
  if (!st.isFile()) {
    close();
    throw new GuestAgentError(ErrorCode.InvalidPath, `${view}: not a regular file`);
  }
  return { fd, view, real, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, close };
}

export async function handleRead(ctx: AgentContext, req: OpRequest<"read">): Promise<ReadResult> {
  await ctx.tree.settle();
  const confined = confine(ctx, req.args.path, "read");
  // The bytes are always read from the file; only its size and times may come from the listing.
  const listed = ctx.tree.entry(confined.real);
  if (listed?.kind === "file" && listed.size <= TEXT_PATH_MAX && req.args.lines !== undefined) {
    const done = await readTextLines(confined.real, listed, req);
    if (done) return done;
  }
  const f = openRegular(ctx, req.args.path, confined, listed);
  try {
    const base = { size: f.size, mtimeMs: f.mtimeMs, ctimeMs: f.ctimeMs };
    const { lines } = req.args;
    if (lines !== undefined) {
      const { totalLines, blank } = await sendLines(f.fd, req, lines.offset ?? 0, lines.limit ?? DEFAULT_LINE_LIMIT, f.size);
      return { ...base, totalLines, blank };
    }
    await sendBytes(f.fd, req, req.args.offset ?? 0, req.args.length ?? Number.MAX_SAFE_INTEGER, f.size);
    return base;
  } finally {
    f.close();
  }
}

/** Files read in one call as UTF-8 text when listed (see readTextLines). */
const TEXT_PATH_MAX = 256 * 1024;
/** Only space, \t, \n, \v, \f, \r: what isBlank accepts. */
const BLANK = /^[ \t\n\v\f\r]*$/;
const TEXT_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * A line window of a small listed file through one native call (open, read, close and UTF-8
 * decoding in C++), instead of four fs calls and a byte loop, which under TCG is most of a read.
 * Null when the bytes are not plain UTF-8 (U+FFFD in the text): the byte path keeps them exact.
 * Same results as sendLines: the window's bytes, the line count, blank.
 */
async function readTextLines(real: string, listed: CachedEntry, req: OpRequest<"read">): Promise<ReadResult | null> {
  const first = req.args.lines?.offset ?? 0;
  const limit = req.args.lines?.limit ?? DEFAULT_LINE_LIMIT;
  let text: string;
  try {
    // Numeric flags work (stringToFlags passes numbers through); Node's types only list strings.
    text = readFileSync(real, { encoding: "utf8", flag: TEXT_FLAGS as unknown as string });
  } catch {
    return null; // the byte path reports it properly
  }
  if (text.includes("\uFFFD")) return null;
  const w = lineWindow(text, 0, first, first + limit);
  if (w.to > w.from) await req.data(Buffer.from(text.slice(w.from, w.to), "utf8"));
  const totalLines = text.length === 0 ? 0 : text.endsWith("\n") ? w.line : w.line + 1;
  return { size: Buffer.byteLength(text, "utf8"), mtimeMs: listed.mtimeMs, ctimeMs: listed.ctimeMs, totalLines, blank: BLANK.test(text) };
}

/** Streams [offset, offset+length) in frame-sized parts; returns the number of bytes sent. */
async function sendBytes(fd: number, req: RequestContext<unknown>, offset: number, length: number, sizeHint: number, tags?: Record<string, unknown>): Promise<number> {
  let pos = offset;
  let left = length;
  while (left > 0) {
    if (req.aborted) throw new GuestAgentError(ErrorCode.Cancelled, "cancelled");
    // A fresh buffer per part: the previous one may still wait in the writer.
    const buf = Buffer.allocUnsafe(Math.min(MAX_FRAME_BODY, left, Math.max(sizeHint - pos + 1, 4096)));
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    await req.data(n === buf.length ? buf : buf.subarray(0, n), tags);
    pos += n;
    left -= n;
    // A short read of a regular file is its end: no extra read() just to see 0.
    if (n < buf.length) break;
  }
  return pos - offset;
}

/**
 * Streams the bytes of lines [first, first+limit) (with their newlines) and returns the file's
 * line count, where a last line without "\n" counts (deepagents' `split("\n")` semantics).
 */
async function sendLines(fd: number, req: RequestContext<unknown>, first: number, limit: number, sizeHint: number): Promise<{ totalLines: number; blank: boolean }> {
  // Small files are the common case: do not allocate a whole frame's worth for them.
  const bufSize = Math.min(MAX_FRAME_BODY, Math.max(sizeHint + 1, 4096));
  const end = first + limit;
  let line = 0; // index of the line the next byte belongs to
  let pos = 0;
  let lastByte = -1;
  let blank = true;
  for (;;) {
    if (req.aborted) throw new GuestAgentError(ErrorCode.Cancelled, "cancelled");
    const buf = Buffer.allocUnsafe(bufSize);
    const bytesRead = readSync(fd, buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    const atEnd = bytesRead < buf.length; // a short read of a regular file is its end
    pos += bytesRead;
    const chunk = buf.subarray(0, bytesRead);
    lastByte = chunk[bytesRead - 1]!;
    if (blank) blank = isBlank(chunk);
    // Byte offsets = latin1 string offsets; String#indexOf is a V8 builtin, where Buffer#indexOf
    // first runs Node's JS wrapper: per line, that wrapper cost more than the search under TCG.
    const w = lineWindow(chunk.toString("latin1"), line, first, end);
    line = w.line;
    if (w.to > w.from) await req.data(chunk.subarray(w.from, w.to));
    if (atEnd) break;
  }
  return { totalLines: lastByte === -1 ? 0 : lastByte === NL ? line : line + 1, blank };
}

/**
 * One piece of a file, whose first character belongs to line `line`: the part of it inside lines
 * [first, end) (with their newlines; empty when `to <= from`) and the line the piece ends in.
 * The window's lines are consecutive, so a piece holds at most one part of it.
 */
function lineWindow(text: string, line: number, first: number, end: number): { from: number; to: number; line: number } {
  let from = line >= first && line < end ? 0 : -1;
  let to = -1;
  for (let at = 0; at < text.length; ) {
    const nl = text.indexOf("\n", at);
    if (nl === -1) break;
    line++;
    at = nl + 1;
    if (line === first && from === -1) from = at;
    if (line === end && from !== -1 && to === -1) to = at;
  }
  if (from === -1) return { from: 0, to: 0, line };
  return { from, to: to === -1 ? text.length : to, line };
}

/** Only space, \t, \n, \v, \f, \r. */
function isBlank(chunk: Buffer): boolean {
  for (const b of chunk) if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return false;
  return true;
}

/** Files in one download from which the listed ones are read by one `cat` (catFiles). */
const CAT_DOWNLOAD_FILES = 32;

export async function handleDownload(ctx: AgentContext, req: OpRequest<"download">): Promise<DownloadResult> {
  const paths = req.args.paths;
  const sent = paths.length >= CAT_DOWNLOAD_FILES ? await downloadListed(ctx, req) : [];
  const files: DownloadResult["files"] = [];
  for (let part = 0; part < paths.length; part++) {
    const path = paths[part];
    const done = sent[part];
    if (done) {
      files.push(done);
      continue;
    }
    try {
      const f = await openRegular(ctx, path);
      try {
        const size = await sendBytes(f.fd, req, 0, Number.MAX_SAFE_INTEGER, f.size, { part });
        files.push({ path, size });
      } finally {
        f.close();
      }
    } catch (err) {
      const e = toGuestAgentError(err);
      if (e.code === ErrorCode.Cancelled) throw e;
      files.push({ path, size: 0, error: e.code });
    }
  }
  return { files };
}

/**
 * Sends the files of a download that the tree cache lists as regular files (what a manifest
 * just listed) through one `cat` per batch, instead of four fs calls and a frame's JS each: the
 * workspace sync after a command that made 1,000 files spent most of its download there. A
 * listed directory has no symlink on its way (walks never enter one, and an event drops what lies
 * under a changed entry), so the lexical path is the real one; a file changed or swapped during
 * the `cat` fails catFiles' checks and goes the one-by-one way. Returns what was sent, by part.
 */
async function downloadListed(ctx: AgentContext, req: OpRequest<"download">): Promise<DownloadResult["files"]> {
  await ctx.tree.settle();
  const listed: (Candidate & { entry: CachedEntry; part: number })[] = [];
  req.args.paths.forEach((path, part) => {
    const lexical = resolveViewPath(path, ctx.roots);
    if (!lexical.ok || !lexical.root) return;
    const real = lexical.root.real + lexical.rest;
    const entry = ctx.tree.entry(real);
    if (entry?.kind === "file" && entry.size <= MAX_CAT_FILE && rootContaining(ctx, real)) listed.push({ real, view: lexical.view, entry, part });
  });
  const sent: DownloadResult["files"] = [];
  await catFiles(ctx, req, listed, performance.now() + OP_TIME_MS, async (batch, bytes) => {
    // Files of consecutive parts go out together, one frame up to a frame's body.
    for (let k = 0; k < batch.length; ) {
      if (req.aborted) throw new GuestAgentError(ErrorCode.Cancelled, "cancelled");
      const first = batch[k]!.part;
      const run: Buffer[] = [];
      let size = 0;
      for (; k < batch.length && run.length < MAX_FILES_PER_FRAME; k++) {
        const f = batch[k]!;
        if (f.part !== first + run.length || (run.length && size + bytes[k]!.length > MAX_FRAME_BODY)) break;
        run.push(bytes[k]!);
        size += bytes[k]!.length;
        sent[f.part] = { path: req.args.paths[f.part]!, size: bytes[k]!.length };
      }
      await req.data(run.length === 1 ? run[0]! : Buffer.concat(run, size), { part: first, sizes: run.map((b) => b.length) });
    }
  });
  return sent;
}
