/**
 * Lexical confinement of a path to the sandbox's filesystem view. Pure and dependency-free: the
 * host (`src/sandbox/paths.ts`) and the guest agent both run it; the guest then also checks real
 * paths (symlinks) in `src/guest/confine.ts`.
 */
import { posix } from "node:path";
import { ErrorCode } from "./error-codes.ts";
import type { ViewRoot } from "./view-roots.ts";

/** Longest path we accept; Linux PATH_MAX. */
export const MAX_PATH_LENGTH = 4096;
/** Relative paths are taken relative to the workspace. */
export const DEFAULT_DIR = "/workspace";

export type ViewPath =
  | { ok: true; view: string; root: ViewRoot; rest: string }
  /** The view's top ("/"): not a real directory, it lists the roots. */
  | { ok: true; view: "/"; root: null; rest: "" }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Normalises `input` (resolving `.` and `..`, relative to /workspace) and finds the view root it
 * falls under. Anything outside every root, containing NUL, or not a string is refused.
 */
export function resolveViewPath(input: unknown, roots: readonly ViewRoot[]): ViewPath {
  if (typeof input !== "string") return fail(ErrorCode.InvalidPath, "path must be a string");
  if (input.length === 0) return fail(ErrorCode.InvalidPath, "path is empty");
  if (input.length > MAX_PATH_LENGTH) return fail(ErrorCode.InvalidPath, "path is too long");
  if (input.includes("\0")) return fail(ErrorCode.InvalidPath, "path contains a NUL byte");
  let view: string;
  if (input.startsWith("/") && !input.includes("//") && !input.includes("/.") && (input.length === 1 || !input.endsWith("/"))) {
    view = input; // already normal (the common case; normalize costs more than it looks under TCG)
  } else {
    view = posix.normalize(input.startsWith("/") ? input : `${DEFAULT_DIR}/${input}`);
    // normalize keeps a leading "//" and ".." above the top collapses to "/": both are fine here.
    view = view.replace(/^\/+/, "/");
    if (view.length > 1 && view.endsWith("/")) view = view.slice(0, -1);
  }
  if (view === "/") return { ok: true, view: "/", root: null, rest: "" };
  let best: ViewRoot | undefined;
  for (const root of roots) {
    if ((view === root.path || view.startsWith(`${root.path}/`)) && (!best || root.path.length > best.path.length)) {
      best = root;
    }
  }
  if (!best) {
    const tops = roots.map((r) => r.path).join(", ");
    return fail(ErrorCode.PermissionDenied, `${input}: outside the sandbox (allowed: ${tops})`);
  }
  return { ok: true, view, root: best, rest: view.slice(best.path.length) };
}

function fail(code: ErrorCode, message: string): ViewPath {
  return { ok: false, code, message };
}
