/** `edit`: exact string replacement with deepagents' uniqueness rules, written atomically. */
import { readFileSync } from "node:fs";
import { confine } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError } from "../errors.ts";
import type { OpRequest } from "../request-context.ts";
import { ErrorCode, OP_SCHEMAS, type EditResult } from "../../protocol/index.ts";
import { openRegular } from "./fs-read.ts";
import { writeFileAtomic } from "./fs-write.ts";

/** Files bigger than this are not edited in memory. */
const MAX_EDIT_BYTES = OP_SCHEMAS.edit.limits.maxEditBytes;

export async function handleEdit(ctx: AgentContext, req: OpRequest<"edit">): Promise<EditResult> {
  const { oldString, newString } = req.args;
  const replaceAll = req.args.replaceAll ?? false;
  // Confined for writing once: the write below reuses it (it is the same file, and nothing else
  // runs in between; a racing command can reach only what the sandbox user can, see privileges.ts).
  const target = confine(ctx, req.args.path, "write");
  const f = openRegular(ctx, req.args.path, target);
  const view = f.view;
  let content: string;
  try {
    if (f.size > MAX_EDIT_BYTES) throw new GuestAgentError(ErrorCode.TooLarge, `${view}: ${f.size} bytes is too large to edit`);
    content = readFileSync(f.fd, "utf8");
  } finally {
    f.close();
  }
  const [next, occurrences] = replace(view, content, oldString, newString, replaceAll);
  const bytes = Buffer.from(next, "utf8");
  const w = await writeFileAtomic(ctx, req.args.path, [bytes], bytes.length, { confined: target });
  if (req.args.returnContent) await req.data(bytes);
  return { occurrences, size: w.size, mtimeMs: w.mtimeMs };
}

/** deepagents' performStringReplacement, with typed errors. */
export function replace(view: string, content: string, oldString: string, newString: string, replaceAll: boolean): [string, number] {
  if (content === "" && oldString === "") return [newString, 0];
  if (oldString === "") throw new GuestAgentError(ErrorCode.BadRequest, `${view}: oldString cannot be empty when the file has content`);
  const pieces = content.split(oldString);
  const occurrences = pieces.length - 1;
  if (occurrences === 0) throw new GuestAgentError(ErrorCode.NoMatch, `${view}: string not found in file: '${oldString}'`);
  if (occurrences > 1 && !replaceAll) {
    throw new GuestAgentError(
      ErrorCode.NotUnique,
      `${view}: string '${oldString}' appears ${occurrences} times. Use replace_all=true to replace all instances, or give more context to make it unique.`,
    );
  }
  return [pieces.join(newString), occurrences];
}
