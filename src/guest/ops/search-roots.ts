/** Where a recursive search starts: a confined directory or file, or every top root for "/". */
import { statSafe } from "./fs-list.ts";
import { confine } from "../confine.ts";
import type { AgentContext } from "../context.ts";
import { GuestAgentError } from "../errors.ts";
import { ErrorCode } from "../../protocol/index.ts";
import { resolveViewPath } from "../../protocol/index.ts";

export interface SearchStart {
  view: string;
  real: string;
  isFile: boolean;
}

export function searchStarts(ctx: AgentContext, path: string): SearchStart[] {
  const lexical = resolveViewPath(path, ctx.roots);
  if (!lexical.ok) throw new GuestAgentError(lexical.code, lexical.message);
  const views = lexical.root === null ? topRoots(ctx) : [lexical.view];
  const starts: SearchStart[] = [];
  for (const view of views) {
    const { real } = confine(ctx, view, "read");
    // A cached directory answers without a stat (the walk lists it next anyway).
    if (ctx.tree.isListed(real)) {
      starts.push({ view, real, isFile: false });
      continue;
    }
    const st = statSafe(real);
    if (!st) {
      if (lexical.root === null) continue;
      throw new GuestAgentError(ErrorCode.FileNotFound, `${view}: no such file or directory`);
    }
    starts.push({ view, real, isFile: st.isFile() });
  }
  return starts;
}

/** Roots that are not inside another root (the offload folders live inside /workspace). */
function topRoots(ctx: AgentContext): string[] {
  return ctx.roots.filter((r) => !ctx.roots.some((o) => o !== r && r.real.startsWith(`${o.real}/`))).map((r) => r.path);
}

