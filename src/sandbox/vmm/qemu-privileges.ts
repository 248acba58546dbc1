import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { childEnv } from "../../config/index.ts";

/**
 * How QEMU gives up its power. Under TCG the QEMU process is the only wall between a hostile guest
 * and the host, so a QEMU started by root drops to an unprivileged user and chroots into its run
 * folder once every file is open (`-runas`/`-chroot` or `-run-with user=…,chroot=…`, by release:
 * see qemuFeatures), and all QEMUs run under seccomp (`-sandbox`).
 */

/** The dedicated user `scripts/setup.sh` creates; `nobody` stands in when it is missing. */
export const VM_USER = "vibewriter-vm";
export const FALLBACK_VM_USER = "nobody";

export interface VmUser {
  name: string;
  uid: number;
  gid: number;
}

/** The user a root host runs QEMU as; null when the host is not root (nothing to drop). */
export function resolveVmUser(wanted: string = VM_USER, warn: (line: string) => void = (l) => console.warn(l)): VmUser | null {
  if (process.getuid?.() !== 0) return null;
  const found = lookupUser(wanted);
  if (found) return found;
  const fallback = lookupUser(FALLBACK_VM_USER);
  if (!fallback) throw new Error(`neither ${wanted} nor ${FALLBACK_VM_USER} exists: run \`bash scripts/setup.sh\``);
  warn(`vibewriter: user ${wanted} is missing, QEMU runs as ${FALLBACK_VM_USER} (run \`bash scripts/setup.sh\` to create it)`);
  return fallback;
}

function lookupUser(name: string): VmUser | null {
  const passwd = readFileSync("/etc/passwd", "utf8");
  for (const line of passwd.split("\n")) {
    const [n, , uid, gid] = line.split(":");
    if (n === name && uid && gid) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

/**
 * `-sandbox` (seccomp): no obsolete syscalls, no spawning (migration uses fds and sockets, not
 * `exec:`), no scheduler/affinity changes. `elevateprivileges` must stay allowed when QEMU itself
 * drops to another user (its setuid comes after the filter: SIGSYS otherwise, measured on 7.2);
 * with no capabilities left after the drop, set*id cannot raise anything.
 */
export function sandboxArg(dropsPrivileges: boolean): string {
  return `on,obsolete=deny,elevateprivileges=${dropsPrivileges ? "allow" : "deny"},spawn=deny,resourcecontrol=deny`;
}

/**
 * A QEMU that changes its uid loses its parent-death signal (the kernel clears it on credential
 * changes), so it would outlive a host process that is SIGKILLed. A root host therefore starts it
 * under a tiny shell guardian that keeps the signal (SIGTERM, so it can act): the guardian prints
 * QEMU's pid, waits for it, passes its exit status on, and kills it when the host dies.
 */
const GUARDIAN = [
  `trap 'kill -9 "$q" 2>/dev/null; exit 137' TERM HUP INT`,
  `"$0" "$@" >/dev/null &`,
  `q=$!`,
  `echo "$q"`,
  `wait "$q"`,
].join("\n");

export interface SpawnedQemu {
  child: ChildProcess;
  /** Host pid of the QEMU process itself (not of the guardian). */
  pid: Promise<number>;
}

/**
 * Starts QEMU so that it dies with this process: `setpriv --pdeathsig` directly when QEMU keeps
 * its uid, through the guardian when it drops it. `extraFds` become fds 3, 4… in QEMU.
 */
export function spawnQemu(binary: string, args: string[], guarded: boolean, extraFds: number[] = []): SpawnedQemu {
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
  const stdio: ("ignore" | "pipe" | number)[] = ["ignore", guarded ? "pipe" : "ignore", "pipe", ...extraFds];
  if (!guarded) {
    const [cmd, argv] = setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", binary, ...args]] : [binary, args];
    const child = spawn(cmd, argv, { env: childEnv(), stdio });
    return { child, pid: Promise.resolve(child.pid ?? -1) };
  }
  if (!setpriv) throw new Error("setpriv (util-linux) is missing: run `bash scripts/setup.sh`");
  const child = spawn(setpriv, ["--pdeathsig", "TERM", "--", "/bin/sh", "-c", GUARDIAN, binary, ...args], { env: childEnv(), stdio });
  const pid = new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", () => reject(new Error("QEMU's guardian exited before reporting QEMU's pid")));
    child.once("error", reject);
  });
  pid.catch(() => {});
  return { child, pid };
}

/** The guardian passes a signal death on as exit status 128+n: turn it back into the signal. */
export function exitFromGuardian(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (signal || code === null || code <= 128 || code > 128 + 64) return { code, signal };
  const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] as NodeJS.Signals | undefined;
  return name ? { code: null, signal: name } : { code, signal };
}
