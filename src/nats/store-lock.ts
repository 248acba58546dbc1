/**
 * The store directory's lock, and telling whether a recorded process is still the one recorded.
 *
 * The lock is a symlink `<dir>/server.lock` → "<pid>:<start>": creating a symlink is atomic (EEXIST
 * when held), and a short link needs no data block, so it still works on a full disk (a lock
 * *file* with the pid written into it does not). A lock whose holder is gone is taken over.
 */
import { readFileSync } from "node:fs";
import { readlink, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { procStat } from "../config/index.ts";

const LOCK_WAIT_MS = 60_000;

/**
 * Run `fn` holding `<dir>/server.lock`. Two servers on one store would corrupt it: this is what
 * keeps starting, restarting, joining and leaving single.
 * Known gap: two processes taking over the same stale lock at the same instant can both succeed
 * (the second removes the first's fresh lock); it needs a crash plus an exact tie to happen.
 */
export async function withStoreLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lockFile = join(dir, "server.lock");
  const me = `${process.pid}:${processStart(process.pid) ?? ""}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await symlink(me, lockFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = await lockHolder(lockFile);
      if (holder === undefined || !isSameProcess(holder.pid, holder.start)) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new NatsBackboneError(NatsErrorCode.ServerStart, `process ${holder.pid} has held ${lockFile} for over ${LOCK_WAIT_MS / 1000} s`);
      }
      // The holder is starting or stopping the server: back off, then try again.
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    try {
      return await fn();
    } finally {
      await rm(lockFile, { force: true });
    }
  }
}

/** The lock's holder; undefined when the lock is unreadable (a plain file from an older version counts by its text). */
async function lockHolder(lockFile: string): Promise<{ pid: number; start?: number } | undefined> {
  let text: string;
  try {
    text = await readlink(lockFile);
  } catch {
    // An older version's lock file: its pid is the text (empty: its writer died mid-write).
    try {
      text = readFileSync(lockFile, "utf8").trim();
    } catch {
      return undefined;
    }
  }
  const [pid, start] = text.split(":");
  if (!pid || !/^\d+$/.test(pid)) return undefined;
  return { pid: Number(pid), ...(start ? { start: Number(start) } : {}) };
}

/** Start time of a process (clock ticks since boot, /proc/<pid>/stat field 22); undefined without /proc. */
export function processStart(pid: number): number | undefined {
  return procStat(pid)?.start;
}

/** `pid` runs and, when `start` is known, is still the process that had that start time. */
export function isSameProcess(pid: number, start?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // EPERM: it exists but belongs to someone else, so it is not the process we recorded.
    return false;
  }
  // A zombie (exited, not yet reaped by its parent) still has its stat: treat it as gone.
  const stat = procStat(pid);
  if (stat?.state === "Z") return false;
  if (start === undefined || stat?.start === undefined) return true;
  return stat.start === start;
}
