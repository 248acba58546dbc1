/**
 * Host-side path confinement (the guest checks again, with real paths): every path the model gives
 * is normalised and must fall under the sandbox's view before any request is sent.
 */
import { ErrorCode, VIEW_ROOTS } from "../protocol/index.ts";
import { resolveViewPath } from "../protocol/index.ts";

export type Access = "read" | "write";

export type Confined = { ok: true; view: string } | { ok: false; code: ErrorCode; message: string };

/** `view` is the normalised path; "/" (the view's top) is allowed for reading (ls, grep, glob). */
export function confinePath(path: unknown, access: Access): Confined {
  const r = resolveViewPath(path, VIEW_ROOTS);
  if (!r.ok) return { ok: false, code: r.code, message: r.message };
  if (r.root === null) {
    if (access === "write") return { ok: false, code: ErrorCode.PermissionDenied, message: "/: the top of the sandbox view is read-only" };
    return { ok: true, view: "/" };
  }
  if (access === "write" && !r.root.writable) return { ok: false, code: ErrorCode.PermissionDenied, message: `${r.view}: ${r.root.path} is read-only` };
  return { ok: true, view: r.view };
}

const WORKSPACE = "/workspace";

/**
 * Where a view path lives relative to /workspace (what gets persisted), or null when it is not
 * in the workspace (/tmp, /skills). `/large_tool_results/x` → `.large_tool_results/x`.
 */
export function workspaceRelative(view: string): string | null {
  const r = resolveViewPath(view, VIEW_ROOTS);
  if (!r.ok || r.root === null) return null;
  const real = r.root.real + r.rest;
  if (!real.startsWith(`${WORKSPACE}/`)) return null;
  return real.slice(WORKSPACE.length + 1);
}

/** The inverse of `workspaceRelative`: the canonical view path for a workspace file. */
export function workspaceView(rel: string): string {
  const r = resolveViewPath(`${WORKSPACE}/${rel}`, VIEW_ROOTS);
  if (!r.ok || r.root === null) return `${WORKSPACE}/${rel}`;
  // The most specific root that holds the real path names it (e.g. /large_tool_results).
  const real = `${WORKSPACE}/${rel}`;
  let best: (typeof VIEW_ROOTS)[number] | undefined;
  for (const root of VIEW_ROOTS) {
    if (real.startsWith(`${root.real}/`) && (!best || root.real.length > best.real.length)) best = root;
  }
  return best ? best.path + real.slice(best.real.length) : real;
}
