/** `delete` (a symlink is removed, never followed) and `mkdir`. */
import { lstat, rm, rmdir, unlink } from "node:fs/promises";
import { optBool } from "../args.ts";
import { confine, confineParent, makeDirs } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { AgentError, toAgentError } from "../errors.ts";
import type { RequestContext } from "../handlers.ts";
import { ErrorCode } from "../protocol.ts";

export async function handleDelete(ctx: AgentContext, req: RequestContext): Promise<Record<string, never>> {
  const { real, view } = await confineParent(ctx, req.args.path, "write");
  const recursive = optBool(req.args, "recursive") ?? true;
  const st = await lstat(real).catch(() => null);
  if (!st) throw new AgentError(ErrorCode.FileNotFound, `${view}: no such file or directory`);
  try {
    if (st.isDirectory()) await (recursive ? rm(real, { recursive: true }) : rmdir(real));
    else await unlink(real);
  } catch (err) {
    throw toAgentError(err, view);
  }
  return {};
}

export async function handleMkdir(ctx: AgentContext, req: RequestContext): Promise<Record<string, never>> {
  const { real, view } = await confine(ctx, req.args.path, "write");
  const st = await lstat(real).catch(() => null);
  if (st) {
    if (st.isDirectory() && optBool(req.args, "parents") !== false) return {};
    throw new AgentError(st.isDirectory() ? ErrorCode.Exists : ErrorCode.NotDirectory, `${view}: already exists`);
  }
  try {
    await makeDirs(ctx, real);
  } catch (err) {
    throw toAgentError(err, view);
  }
  return {};
}
