/**
 * Real-path confinement (defence in depth behind the host's lexical check): after `..` is resolved
 * lexically, the deepest existing ancestor is resolved with realpath, so a symlink anywhere on the
 * way cannot lead out of the view, and writes must land under a writable root. In the VM the
 * checks and the operations that follow run with the sandbox user's effective ids
 * (`privileges.ts`), so a symlink swapped in after the check reaches no more than that user can.
 * Synchronous on purpose: no other request runs between a check and the call that follows it.
 */
import { chownSync, lstatSync, mkdirSync, realpathSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import type { AgentContext } from "./context.ts";
import { GuestAgentError, toGuestAgentError } from "./errors.ts";
import { ErrorCode, type ViewRoot } from "../protocol/index.ts";
import { resolveViewPath } from "../protocol/index.ts";

export interface Resolved {
  /** Normalised view path (what the model sees). */
  view: string;
  /** The real path to operate on (symlinks resolved as far as the path exists). */
  real: string;
  root: ViewRoot;
}

export type Access = "read" | "write";

/** Resolves a view path to a real one, following symlinks, and checks it stays in the view. */
export function confine(ctx: AgentContext, input: unknown, access: Access): Resolved {
  const lexical = resolveViewPath(input, ctx.roots);
  if (!lexical.ok) throw new GuestAgentError(lexical.code, lexical.message);
  if (lexical.root === null) throw new GuestAgentError(ErrorCode.PermissionDenied, `/: the view's top is not a directory you can ${access} here`);
  const real = realOf(lexical.root.real + lexical.rest);
  check(ctx, real, lexical.view, access);
  return { view: lexical.view, real, root: lexical.root };
}

/**
 * Like `confine` but does not follow the last component: for delete (a symlink is removed, never
 * its target) and for stat-like listings.
 */
export function confineParent(ctx: AgentContext, input: unknown, access: Access): Resolved {
  const lexical = resolveViewPath(input, ctx.roots);
  if (!lexical.ok) throw new GuestAgentError(lexical.code, lexical.message);
  if (lexical.root === null || lexical.rest === "") {
    throw new GuestAgentError(ErrorCode.PermissionDenied, `${lexical.view}: a root of the view cannot be ${access === "write" ? "changed" : "used"} this way`);
  }
  const lexReal = lexical.root.real + lexical.rest;
  const parent = realOf(dirname(lexReal));
  const real = join(parent, lexReal.slice(lexReal.lastIndexOf("/") + 1));
  check(ctx, parent, lexical.view, access);
  return { view: lexical.view, real, root: lexical.root };
}

/** realpath of the deepest existing ancestor, plus the components that do not exist yet. */
function realOf(path: string): string {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      // The native realpath(3): one call, where Node's JS version lstat()s every component.
      const resolved = realpathSync.native(current);
      return missing.length ? join(resolved, ...missing.reverse()) : resolved;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" || current === "/" || current === dirname(current)) throw toGuestAgentError(err);
      // A dangling symlink exists but does not resolve: refuse rather than create through it.
      const link = lstatSafe(current);
      if (link?.isSymbolicLink()) throw new GuestAgentError(ErrorCode.PermissionDenied, "path goes through a dangling symlink");
      missing.push(current.slice(current.lastIndexOf("/") + 1));
      current = dirname(current);
    }
  }
}

function check(ctx: AgentContext, real: string, view: string, access: Access): void {
  const root = rootContaining(ctx, real);
  if (!root) throw new GuestAgentError(ErrorCode.PermissionDenied, `${view}: resolves outside the sandbox`);
  if (access === "write" && !root.writable) throw new GuestAgentError(ErrorCode.PermissionDenied, `${view}: ${root.path} is read-only`);
}

/** The most specific root whose real directory holds `real` (its realpath is cached at start-up). */
export function rootContaining(ctx: AgentContext, real: string): ViewRoot | undefined {
  let best: ViewRoot | undefined;
  for (const root of ctx.roots) {
    if ((real === root.real || real.startsWith(root.real.endsWith(sep) ? root.real : root.real + sep)) && (!best || root.real.length > best.real.length)) {
      best = root;
    }
  }
  return best;
}

/** Maps a real path back to the view (for listings); undefined when it is outside. */
export function viewOf(ctx: AgentContext, real: string): string | undefined {
  const root = rootContaining(ctx, real);
  if (!root) return undefined;
  return root.path + real.slice(root.real.length);
}

/** lstat that returns null instead of throwing. */
export function lstatSafe(path: string): import("node:fs").Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** mkdir -p; with an `owner`, each directory it creates is handed to that user. */
export function makeDirs(owner: { uid: number; gid: number } | null, real: string): void {
  const first = mkdirSync(real, { recursive: true });
  if (!first || !owner) return;
  // `first` is the top-most directory created; chown it and everything below it on the way down.
  let dir = real;
  while (dir.length >= first.length) {
    chownSync(dir, owner.uid, owner.gid);
    if (dir === first) break;
    dir = dirname(dir);
  }
}

/** Who should own what the agent creates: nobody to hand to when its privileges are lowered. */
export function createdOwner(ctx: AgentContext): { uid: number; gid: number } | null {
  return ctx.privileges.lowered ? null : ctx.sandboxUser;
}
