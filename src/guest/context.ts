/** What every handler needs to know about the agent it runs in. */
import type { ClockSetter } from "./clock.ts";
import { SANDBOX_GID, SANDBOX_UID, type ViewRoot } from "../protocol/index.ts";
import { UNPRIVILEGED, type Privileges } from "./privileges.ts";
import { TreeCache } from "./tree-cache.ts";

export interface AgentContext {
  /** The view roots with `real` mapped to where they live here (the VM, or temp dirs in tests). */
  roots: ViewRoot[];
  /** When the agent runs as root, commands and created files belong to this user. */
  sandboxUser: { uid: number; gid: number } | null;
  /** PATH, HOME, LANG... for commands. */
  baseEnv: Record<string, string>;
  /** Whose effective ids file operations run with (see privileges.ts); set once serving starts. */
  privileges: Privileges;
  /** Sets the wall clock (a root helper started at boot), when the agent runs in the VM. */
  clock: ClockSetter | null;
  /** A clock update started by `hello` and not finished yet: commands wait for it. */
  clockSetting: Promise<unknown> | null;
  /** Listings and small contents kept between requests, invalidated by inotify. */
  tree: TreeCache;
}


export function createContext(roots: ViewRoot[]): AgentContext {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const workspace = roots.find((r) => r.path === "/workspace")?.real ?? "/";
  const tmp = roots.find((r) => r.path === "/tmp")?.real ?? "/tmp";
  return {
    privileges: UNPRIVILEGED,
    clock: null,
    clockSetting: null,
    // Outermost roots first, so a nested root's directories are watched up to their outer root.
    tree: new TreeCache(roots.map((r) => r.real).sort((a, b) => a.length - b.length)),
    roots,
    sandboxUser: isRoot ? { uid: SANDBOX_UID, gid: SANDBOX_GID } : null,
    baseEnv: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: workspace,
      TMPDIR: tmp,
      LANG: "C.UTF-8",
      USER: isRoot ? "sandbox" : (process.env.USER ?? "sandbox"),
    },
  };
}
