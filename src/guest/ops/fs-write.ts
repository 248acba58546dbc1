/**
 * `write` and `upload`: the body streams into a temporary file beside the target, which is then
 * renamed over it, so a failed or short write (no space, cancelled) leaves the old file intact.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchownSync, fstatSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { bad } from "../args.ts";
import { confine, createdOwner, lstatSafe, makeDirs, type Resolved } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError, toGuestAgentError } from "../errors.ts";
import type { OpRequest } from "../request-context.ts";
import { ErrorCode, type UploadResult, type WriteResult } from "../../protocol/index.ts";

export interface Written {
  size: number;
  mtimeMs: number;
}

/**
 * Writes `parts` (exactly `size` bytes) to the confined path. Exported for `edit`.
 *
 * An install (host-only: skills into read-only /skills, files left to root) needs root: its body
 * is collected first, then the whole write runs in one synchronous step with root's effective ids,
 * so no other request ever runs while they are raised.
 */
export async function writeFileAtomic(
  ctx: AgentContext,
  path: unknown,
  parts: AsyncIterable<Buffer> | Iterable<Buffer>,
  size: number,
  opts: WriteOptions = {},
): Promise<Written> {
  if (opts.install && ctx.privileges.lowered) {
    const body = await collect(parts, size);
    return ctx.privileges.asRoot(() => {
      const w = beginWrite(ctx, path, size, opts);
      return w.run(() => {
        for (const part of body) w.append(part);
        return w.commit();
      });
    });
  }
  const w = beginWrite(ctx, path, size, opts);
  return w.runAsync(async () => {
    for await (const part of parts) w.append(part);
    return w.commit();
  });
}

/** Temporary names: a per-agent random tag and a counter (no RNG call per write). */
const TMP_TAG = randomBytes(4).toString("hex");
let tmpCounter = 0;

export interface WriteOptions {
  exclusive?: boolean;
  parents?: boolean;
  install?: boolean;
  /** Already confined for writing in this same synchronous step (edit): not resolved again. */
  confined?: Resolved;
}

/** Confines, creates parents and opens the temporary file; `append`, then `commit` renames it. */
function beginWrite(ctx: AgentContext, path: unknown, size: number, opts: WriteOptions) {
  // An install may target read-only roots and leaves files to root (see UploadArgs.install).
  const { real, view } = opts.confined ?? confine(ctx, path, opts.install ? "read" : "write");
  // With lowered privileges files are the sandbox user's already; root (host tests) hands them over.
  const owner = opts.install ? null : createdOwner(ctx);
  const existing = lstatSafe(real);
  if (existing?.isDirectory()) throw new GuestAgentError(ErrorCode.IsDirectory, `${view}: is a directory`);
  if (existing && opts.exclusive) throw new GuestAgentError(ErrorCode.Exists, `${view}: already exists`);
  try {
    // An existing file proves its directory exists.
    if (opts.parents !== false && !existing) makeDirs(owner, dirname(real));
  } catch (err) {
    throw toGuestAgentError(err, view);
  }
  const tmpPrefix = join(dirname(real), `.${basename(real).slice(0, 200)}.vw-${TMP_TAG}-`);
  let tmp = tmpPrefix + ++tmpCounter;
  let fd: number | null = null;
  let written = 0;
  const abort = (err: unknown): never => {
    if (fd !== null) closeSync(fd);
    fd = null;
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw toGuestAgentError(err, view);
  };
  // O_EXCL refuses anything a command placed at the name; then the next name is tried.
  for (let attempt = 1; fd === null; attempt++) {
    try {
      fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, existing?.mode ?? 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 8) abort(err);
      tmp = tmpPrefix + ++tmpCounter;
    }
  }
  return {
    append(part: Buffer): void {
      if (written + part.length > size) throw bad(`${view}: body is longer than the declared ${size} bytes`);
      for (let at = 0; at < part.length; ) at += writeSync(fd!, part, at, part.length - at);
      written += part.length;
    },
    commit(): Written {
      if (written !== size) throw bad(`${view}: body is ${written} bytes, declared ${size}`);
      if (owner) fchownSync(fd!, owner.uid, owner.gid);
      // fstat before close: the same inode is what the rename puts in place.
      const st = fstatSync(fd!);
      closeSync(fd!);
      fd = null;
      if (opts.exclusive && lstatSafe(real)) throw new GuestAgentError(ErrorCode.Exists, `${view}: already exists`);
      renameSync(tmp, real);
      return { size: st.size, mtimeMs: st.mtimeMs };
    },
    run<T>(fn: () => T): T {
      try {
        return fn();
      } catch (err) {
        return abort(err);
      }
    },
    async runAsync<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (err) {
        return abort(err);
      }
    },
  };
}

/** Reads a whole body into memory, checking it against its declared size. */
async function collect(parts: AsyncIterable<Buffer> | Iterable<Buffer>, size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let total = 0;
  for await (const part of parts) {
    total += part.length;
    if (total > size) throw bad(`body is longer than the declared ${size} bytes`);
    out.push(part);
  }
  return out;
}

export async function handleWrite(ctx: AgentContext, req: OpRequest<"write">): Promise<WriteResult> {
  const { path, size, exclusive, parents } = req.args;
  return writeFileAtomic(ctx, path, req.body, size, { exclusive, parents });
}

export async function handleUpload(ctx: AgentContext, req: OpRequest<"upload">): Promise<UploadResult> {
  const { files } = req.args;
  const install = req.args.install ?? false;
  const results: UploadResult["results"] = [];
  for (const { path, size } of files) {
    let taken = 0;
    const body = req.body;
    const part = (async function* () {
      for await (const p of body.take(size)) {
        taken += p.length;
        yield p;
      }
    })();
    try {
      const w = await writeFileAtomic(ctx, path, part, size, { install });
      results.push({ path, size: w.size, mtimeMs: w.mtimeMs });
    } catch (err) {
      // Skip the rest of this file's bytes so the next file starts at its own first byte.
      for await (const _ of body.take(size - taken)) void _;
      const e = toGuestAgentError(err);
      if (e.code === ErrorCode.Cancelled || e.code === ErrorCode.BadRequest) throw e;
      results.push({ path, error: e.code });
    }
  }
  return { results };
}
