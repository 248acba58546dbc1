/**
 * Reads the environment of every process this test started, as the kernel shows it to anyone
 * allowed to look (`/proc/<pid>/environ`): the place a secret handed to a child would sit.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessEnviron {
  pid: number;
  ppid: number;
  /** `/proc/<pid>/comm`, e.g. "qemu-system-x86", "nats-server", "sh". */
  name: string;
  /** The command line, arguments joined by spaces. */
  cmdline: string;
  /** `NAME=value` entries, as the process was started with them. */
  environ: string[];
}

/** pid → ppid for every process; the comm field may hold spaces and parentheses, so parse after the last ")". */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOrNull(`/proc/${entry}/stat`)?.toString("utf8");
    if (stat === undefined) continue; // exited while we listed
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    parents.set(Number(entry), Number(fields[1])); // fields: state, ppid, ...
  }
  return parents;
}

/** The file, or null when the process is gone; any other failure (e.g. EACCES) throws, so a scan
 * can never pass by reading nothing. */
function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return null;
    throw err;
  }
}

/**
 * Every descendant of `rootPids` (children, grandchildren… by ppid) with its environment, plus
 * each root itself unless it is this process: pass `process.pid` for what this process spawned,
 * and the pid of a detached child (e.g. the embedded nats-server) so it is scanned even if it has
 * been re-parented. Processes that exit during the scan are left out.
 */
export function descendantEnvirons(rootPids: number[]): ProcessEnviron[] {
  const parents = parentMap();
  const wanted = new Set<number>(rootPids.filter((p) => p !== process.pid && parents.has(p)));
  const frontier = [...rootPids];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent && !wanted.has(pid)) {
        wanted.add(pid);
        frontier.push(pid);
      }
    }
  }
  const found: ProcessEnviron[] = [];
  for (const pid of [...wanted].sort((a, b) => a - b)) {
    const environ = readOrNull(`/proc/${pid}/environ`);
    const name = readOrNull(`/proc/${pid}/comm`);
    const cmdline = readOrNull(`/proc/${pid}/cmdline`);
    if (environ === null || name === null || cmdline === null) continue;
    found.push({
      pid,
      ppid: parents.get(pid)!,
      name: name.toString("utf8").trim(),
      cmdline: cmdline.toString("utf8").split("\0").filter(Boolean).join(" "),
      environ: environ.toString("utf8").split("\0").filter(Boolean),
    });
  }
  return found;
}

/** The processes among `scanned` whose environment holds any of `secrets`, with the variables that do. */
export function environsHolding(scanned: ProcessEnviron[], secrets: string[]): { pid: number; name: string; entries: string[] }[] {
  const hits: { pid: number; name: string; entries: string[] }[] = [];
  for (const p of scanned) {
    const entries = p.environ.filter((e) => secrets.some((s) => e.includes(s))).map((e) => e.slice(0, e.indexOf("=")));
    if (entries.length > 0) hits.push({ pid: p.pid, name: p.name, entries });
  }
  return hits;
}
