/**
 * Each command runs in a cgroup (v2) of its own, so that when it ends every process it started
 * can be found and killed: `cgroup.kill` reaches a child whatever it did with sessions, process
 * groups or inherited descriptors (a `setsid` daemon, a background job holding stdout open).
 *
 * The image's /init mounts cgroup2 and creates `/sys/fs/cgroup/commands/` (root's, 0755): the agent
 * makes one `c<n>` folder per command in it. The sandbox user can write none of these files, so a
 * command cannot move itself out (moving needs write access to the common ancestor's
 * `cgroup.procs`). No controller is enabled: only membership and `cgroup.kill` are used.
 *
 * A child is born in its parent's cgroup, and Node cannot place a spawned child in another one, so
 * the agent moves itself into the command's cgroup for the (synchronous) spawn and back right
 * after: the command starts inside, before it can run a single instruction of its own.
 *
 * Where there is no such folder (the agent run on a host by tests) commands fall back to their
 * process group, which a `setsid` child leaves.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync, writeSync } from "node:fs";
import type { Privileges } from "./privileges.ts";

export const CGROUP_ROOT = "/sys/fs/cgroup";
/** Created by the image's /init; its presence is what turns command cgroups on. */
export const COMMANDS_CGROUP = `${CGROUP_ROOT}/commands`;

/** How long `killAndWait` waits for killed processes to be gone (a process stuck in the kernel). */
const EMPTY_WAIT_MS = 20_000;

let counter = 0;

/**
 * Root's ids are raised only twice per command (each set*id call is broadcast to every thread of
 * the agent): once around the spawn, which also makes the cgroup and opens its `cgroup.kill` (write
 * access is checked when the file is opened, so killing needs no raise), and once to remove it.
 */
export class CommandCgroup {
  private killFd: number | null = null;

  private constructor(
    /** The cgroup's folder. */
    readonly dir: string,
    private readonly privileges: Privileges,
  ) {}

  /** A cgroup (not made yet) for one command, or null where commands have none (see above). */
  static create(privileges: Privileges): CommandCgroup | null {
    if (!privileges.lowered || !existsSync(COMMANDS_CGROUP)) return null;
    return new CommandCgroup(`${COMMANDS_CGROUP}/c${++counter}`, privileges);
  }

  /**
   * Makes the cgroup and runs `spawn` (synchronous, so nothing else of the agent runs meanwhile)
   * with the agent inside it, so the process it forks starts there. Call inside `asRoot`.
   */
  spawnInside<T>(spawn: () => T): T {
    mkdirSync(this.dir);
    this.killFd = openSync(`${this.dir}/cgroup.kill`, "w");
    writeFileSync(`${this.dir}/cgroup.procs`, String(process.pid));
    try {
      return spawn();
    } finally {
      // Back to the root cgroup: the agent must never be in a cgroup that gets killed.
      writeFileSync(`${CGROUP_ROOT}/cgroup.procs`, String(process.pid));
    }
  }

  /** SIGKILLs every process in the cgroup (and any it is forking right now). */
  kill(): void {
    try {
      if (this.killFd !== null) writeSync(this.killFd, "1");
    } catch {
      // ENODEV: the cgroup is already removed
    }
  }

  /** True while a process (not a zombie) of the command is alive. */
  populated(): boolean {
    try {
      return /^populated 1$/m.test(readFileSync(`${this.dir}/cgroup.events`, "utf8"));
    } catch {
      return false;
    }
  }

  /**
   * Kills what is left and waits until it is gone, so that when a command's result is sent none of
   * its processes can still act; then removes the cgroup. Returns false when processes were still
   * there after EMPTY_WAIT_MS (they are killed, the cgroup is removed once they are gone).
   */
  async killAndWait(): Promise<boolean> {
    this.kill();
    // SIGKILL is delivered at once but each process exits on its own schedule: poll, backing off.
    let delay = 1;
    const until = Date.now() + EMPTY_WAIT_MS;
    while (this.populated()) {
      if (Date.now() > until) {
        this.removeWhenEmpty();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 50);
    }
    this.remove();
    return true;
  }

  private remove(): boolean {
    if (this.killFd !== null) closeSync(this.killFd);
    this.killFd = null;
    try {
      this.privileges.asRoot(() => rmdirSync(this.dir));
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ENOENT";
    }
  }

  private removeWhenEmpty(): void {
    const retry = (): void => {
      if (!this.remove()) setTimeout(retry, 1_000).unref();
    };
    retry();
  }
}
