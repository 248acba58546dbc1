/**
 * The agent's file operations run with the sandbox user's effective uid/gid, not root's.
 *
 * The agent checks real paths before it touches a file (`confine.ts`), but a command running at the
 * same time can swap a parent directory for a symlink between that check and the open. As root,
 * such a race could reach any file of the VM; with the effective ids lowered to the sandbox user's
 * it reaches at most what that user can reach anyway, i.e. what any command can. The real and
 * saved uid stay 0, so the few host-only operations that need root (installing into /skills,
 * spawning commands that then drop to the user for good, setting the clock) raise the effective
 * ids for one synchronous step and lower them again before any other request can run.
 *
 * glibc applies set*id to every thread of the process, so libuv's pool threads follow too; the
 * agent does its file I/O synchronously in any case.
 *
 * Debian 13's Node refuses every set*id call unless it can tell libuv does not use io_uring
 * (CVE-2024-22017); the image then starts the agent with io_uring off and a preloaded answer
 * (src/sandbox/image/node-setid-shim.ts). Should that ever be missing, the agent stops here with
 * the reason rather than serve with root's ids.
 */

export interface Privileges {
  /** True when the effective ids are the sandbox user's (the agent was started as root). */
  readonly lowered: boolean;
  /** Runs `fn` (synchronous: no other request may run meanwhile) with root's effective ids. */
  asRoot<T>(fn: () => T): T;
}

/** Nothing to lower: the agent runs unprivileged (tests on a host). `asRoot` just runs `fn`. */
export const UNPRIVILEGED: Privileges = { lowered: false, asRoot: (fn) => fn() };

/**
 * Lowers the effective ids to `uid`/`gid` (supplementary groups to `gid` alone, so root's groups
 * grant nothing). Call once, after opening what only root may open (the agent's port).
 */
export function lowerPrivileges(uid: number, gid: number): Privileges {
  if (process.geteuid?.() !== 0) return UNPRIVILEGED;
  try {
    process.setgroups!([gid]);
  } catch (err) {
    throw new Error(`cannot drop root's supplementary groups: ${(err as Error).message} (an image built without node-setid-shim.so for this Node?)`, { cause: err });
  }
  const lower = (): void => {
    process.setegid!(gid);
    process.seteuid!(uid);
  };
  const raise = (): void => {
    process.seteuid!(0);
    process.setegid!(0);
  };
  lower();
  return {
    lowered: true,
    asRoot<T>(fn: () => T): T {
      raise();
      try {
        return fn();
      } finally {
        lower();
      }
    },
  };
}
