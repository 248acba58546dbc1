/** `delete` (a symlink is removed, never followed) and `mkdir`. */
import { rmdirSync, rmSync, unlinkSync } from "node:fs";
import { confine, confineParent, createdOwner, lstatSafe, makeDirs } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError, toGuestAgentError } from "../errors.ts";
import type { OpRequest } from "../request-context.ts";
import { ErrorCode } from "../../protocol/index.ts";

export async function handleDelete(ctx: AgentContext, req: OpRequest<"delete">): Promise<Record<string, never>> {
  const { real, view } = confineParent(ctx, req.args.path, "write");
  const recursive = req.args.recursive ?? true;
  const st = lstatSafe(real);
  if (!st) throw new GuestAgentError(ErrorCode.FileNotFound, `${view}: no such file or directory`);
  try {
    if (st.isDirectory()) {
      if (recursive) rmSync(real, { recursive: true });
      else rmdirSync(real);
    } else unlinkSync(real);
  } catch (err) {
    throw toGuestAgentError(err, view);
  }
  return {};
}

export async function handleMkdir(ctx: AgentContext, req: OpRequest<"mkdir">): Promise<Record<string, never>> {
  const { real, view } = confine(ctx, req.args.path, "write");
  const st = lstatSafe(real);
  if (st) {
    if (st.isDirectory() && req.args.parents !== false) return {};
    throw new GuestAgentError(st.isDirectory() ? ErrorCode.Exists : ErrorCode.NotDirectory, `${view}: already exists`);
  }
  try {
    makeDirs(createdOwner(ctx), real);
  } catch (err) {
    throw toGuestAgentError(err, view);
  }
  return {};
}
