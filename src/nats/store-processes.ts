/**
 * Which nats-server processes run on a store directory, and on which loopback ports they listen,
 * read from /proc. nats-server itself does not lock its store (two can run on one store and
 * corrupt it), and `server.json` knows only the servers Vibewriter started: this finds the others
 * (a server restarted by hand with our config, a record lost in a crash) before we start one.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { processRunning } from "../config/index.ts";

export interface StoreProcess {
  pid: number;
  /** Its command line. */
  args: string[];
  /** Listening TCP ports (empty when its file descriptors cannot be read, e.g. another user's). */
  ports: number[];
}

/** Live nats-server processes whose command line or `-c` config names `storeDir` (excluding `except`). */
export function serversOnStore(storeDir: string, except: number[] = []): StoreProcess[] {
  const found: StoreProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found; // no /proc: nothing to find (the lock files still keep Vibewriter's own starts single)
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name) || except.includes(Number(name))) continue;
    const pid = Number(name);
    const args = commandLine(pid);
    if (!args || !/(^|\/)nats-server[^/]*$/.test(args[0] ?? "") || !processRunning(pid)) continue;
    if (!namesStore(args, storeDir)) continue;
    found.push({ pid, args, ports: listeningPorts(pid) });
  }
  return found;
}

function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
}

/** An argument is the store (or a file inside it), or its `-c` config file's text names it. */
function namesStore(args: string[], storeDir: string): boolean {
  const dir = storeDir.replace(/\/+$/, "");
  const inside = (a: string) => a === dir || a.startsWith(`${dir}/`) || a.endsWith(`=${dir}`);
  if (args.some(inside)) return true;
  const c = args.findIndex((a) => a === "-c" || a === "--config");
  const config = c >= 0 ? args[c + 1] : args.find((a) => a.startsWith("--config="))?.slice("--config=".length);
  if (!config) return false;
  try {
    return readFileSync(config, "utf8").includes(dir);
  } catch {
    return false;
  }
}

/** Ports of the TCP sockets in LISTEN state that `pid` holds (/proc/<pid>/fd → /proc/net/tcp{,6}). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed in between
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address:port (hex), f[3] state (0A = LISTEN), f[9] inode
      if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9]!)) continue;
      const port = parseInt(f[1]!.split(":")[1]!, 16);
      if (!ports.includes(port)) ports.push(port);
    }
  }
  return ports;
}
