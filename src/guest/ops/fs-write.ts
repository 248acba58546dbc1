/**
 * `write` and `upload`: the body streams into a temporary file beside the target, which is then
 * renamed over it, so a failed or short write (no space, cancelled) leaves the old file intact.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchownSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { bad, int, optBool } from "../args.ts";
import { confine, lstatSafe, makeDirs } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { AgentError, toAgentError } from "../errors.ts";
import type { RequestContext } from "../handlers.ts";
import { ErrorCode, type UploadResult, type WriteResult } from "../protocol.ts";

export interface Written {
  size: number;
  mtimeMs: number;
}

/**
 * Writes `parts` (exactly `size` bytes) to the confined path. Exported for `edit`.
 */
export async function writeFileAtomic(
  ctx: AgentContext,
  path: unknown,
  parts: AsyncIterable<Buffer> | Iterable<Buffer>,
  size: number,
  opts: { exclusive?: boolean; parents?: boolean; install?: boolean } = {},
): Promise<Written> {
  // An install may target read-only roots and leaves files to root (see UploadArgs.install).
  const { real, view } = await confine(ctx, path, opts.install ? "read" : "write");
  const owner = opts.install ? null : ctx.sandboxUser;
  const existing = lstatSafe(real);
  if (existing?.isDirectory()) throw new AgentError(ErrorCode.IsDirectory, `${view}: is a directory`);
  if (existing && opts.exclusive) throw new AgentError(ErrorCode.Exists, `${view}: already exists`);
  if (opts.parents !== false) await makeDirs({ ...ctx, sandboxUser: owner }, dirname(real)).catch((err) => Promise.reject(toAgentError(err, view)));
  const tmp = join(dirname(real), `.${basename(real).slice(0, 200)}.vw-${randomBytes(6).toString("hex")}`);
  let written = 0;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, existing?.mode ?? 0o644);
    try {
      for await (const part of parts) {
        if (written + part.length > size) throw bad(`${view}: body is longer than the declared ${size} bytes`);
        for (let at = 0; at < part.length; ) at += writeSync(fd, part, at, part.length - at);
        written += part.length;
      }
      if (written !== size) throw bad(`${view}: body is ${written} bytes, declared ${size}`);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
    if (opts.exclusive && lstatSafe(real)) throw new AgentError(ErrorCode.Exists, `${view}: already exists`);
    renameSync(tmp, real);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw toAgentError(err, view);
  }
  const st = lstatSync(real);
  return { size: st.size, mtimeMs: st.mtimeMs };
}

export async function handleWrite(ctx: AgentContext, req: RequestContext): Promise<WriteResult> {
  const size = int(req.args, "size", 0);
  return writeFileAtomic(ctx, req.args.path, req.body, size, {
    exclusive: optBool(req.args, "exclusive"),
    parents: optBool(req.args, "parents"),
  });
}

export async function handleUpload(ctx: AgentContext, req: RequestContext): Promise<UploadResult> {
  const files = req.args.files;
  if (!Array.isArray(files)) throw bad("files must be an array");
  const install = optBool(req.args, "install") ?? false;
  const sizes = files.map((f, i) => {
    if (typeof f !== "object" || f === null) throw bad(`files[${i}] must be an object`);
    return int(f as Record<string, unknown>, "size", 0);
  });
  const results: UploadResult["results"] = [];
  for (let i = 0; i < files.length; i++) {
    const path = (files[i] as Record<string, unknown>).path;
    const size = sizes[i]!;
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
      results.push({ path: String(path), size: w.size, mtimeMs: w.mtimeMs });
    } catch (err) {
      // Skip the rest of this file's bytes so the next file starts at its own first byte.
      for await (const _ of body.take(size - taken)) void _;
      const e = toAgentError(err);
      if (e.code === ErrorCode.Cancelled || e.code === ErrorCode.BadRequest) throw e;
      results.push({ path: String(path), error: e.code });
    }
  }
  return { results };
}
