import { readFileSync } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nuid, type NatsConnection } from "@nats-io/transport-node";
import { renderAuthorization, type NatsUser } from "./auth.ts";
import { connectNats } from "./connection.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { natsServerVersion, startNatsServer, supportsSyncAlways, type NatsServer } from "./server.ts";

/**
 * The embedded nats-server of a state directory, shared by every Vibewriter process using it.
 *
 * Files under `<dir>` (the server's store dir):
 * - `server.json` — pid, port and start time of the running server;
 * - `leases/<pid>.<id>` — one per open backbone; the server runs while a live lease exists;
 * - `server.lock` — held (briefly) by whoever starts, joins or leaves, so those never interleave.
 *
 * Whoever closes the last live lease stops the server, whether or not it started it. A lease
 * whose process is gone (crashed, kill -9) counts as closed. A pid is matched together with its
 * start time (from /proc), so a recycled pid is not mistaken for the original process.
 *
 * Durability: a server whose binary supports it (nats-server ≥ 2.10) is started with
 * `sync_interval: always`, so JetStream fsyncs each write before acknowledging it (the ledger,
 * checkpoints, everything). Older servers refuse the key and fsync every 2 minutes. The setting
 * cannot change on a reload, so a joiner keeps what the running server was started with.
 */
export interface EmbeddedServerHandle {
  nc: NatsConnection;
  /** The server, when this call started it. */
  server?: NatsServer;
  /** Drop this lease; the last live lease stops the server. Call after draining `nc`. */
  release(): Promise<void>;
}

/** `server.json` */
interface ServerFile {
  pid: number;
  port: number;
  /** Process start time (clock ticks since boot), when /proc has it. */
  start?: number;
  /** "nkey": started with `nats-server.conf`'s authorization. Older, open servers are replaced. */
  auth?: "nkey";
  /** `--version` of the binary that started it, e.g. "2.10.27". */
  version?: string;
  /** Started with `sync_interval: always` (absent: started without, as before this field). */
  syncAlways?: boolean;
}

/** How the running embedded server stores writes. */
export interface EmbeddedDurability {
  /** Version of the binary that started it, when recorded. */
  version?: string;
  /** Each write is fsynced before it is acknowledged (`sync_interval: always`). */
  syncAlways: boolean;
}

/** How this process authenticates, and who the server must admit. */
export interface EmbeddedAuth {
  /** This process's nkey seed. */
  seed: Uint8Array;
  /** Every identity the server admits (public keys only). */
  users: NatsUser[];
}

export const SERVER_CONFIG_FILE = "nats-server.conf";

/**
 * `nats-server.conf`: JetStream on `storeDir` (a reload of a file without it would shut JetStream
 * down), with `sync_interval: always` when `syncAlways` (only for nats-server ≥ 2.10: 2.9 refuses
 * to start on the unknown key), and the identities it admits.
 */
export function renderServerConfig(storeDir: string, users: NatsUser[], syncAlways: boolean): string {
  const jetstream = syncAlways ? { store_dir: storeDir, sync_interval: "always" } : { store_dir: storeDir };
  return `jetstream: ${JSON.stringify(jetstream)}\n${renderAuthorization(users)}`;
}

/** The durability of the embedded server running on store `dir`; undefined when none runs. */
export async function embeddedDurability(dir: string): Promise<EmbeddedDurability | undefined> {
  const info = await readServerFile(join(dir, "server.json"));
  if (!info || !isSameProcess(info.pid, info.start)) return undefined;
  return { ...(info.version ? { version: info.version } : {}), syncAlways: info.syncAlways === true };
}

/** Contents of a lease file. */
interface LeaseFile {
  pid: number;
  start?: number;
}

const LOCK_WAIT_MS = 60_000;
const STOP_WAIT_MS = 10_000;
const EMPTY_LOCK_STALE_MS = 5_000;

export async function openEmbeddedServer(dir: string, name: string, auth: EmbeddedAuth): Promise<EmbeddedServerHandle> {
  const leases = join(dir, "leases");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await mkdir(leases, { recursive: true });
  const serverFile = join(dir, "server.json");
  const configFile = join(dir, SERVER_CONFIG_FILE);
  const connect = (port: number) => connectNats({ url: `nats://127.0.0.1:${port}`, name, nkeySeed: auth.seed });
  const lease = join(leases, `${process.pid}.${nuid.next()}`);
  const me: LeaseFile = { pid: process.pid, start: processStart(process.pid) };

  const { nc, server } = await withLock(dir, async () => {
    let joined: { nc: NatsConnection; server?: NatsServer } | undefined;
    const running = await readServerFile(serverFile);
    if (running && running.auth === "nkey" && isSameProcess(running.pid, running.start)) {
      // Its sync setting as it was started: a reload that changed it would fail.
      const config = renderServerConfig(dir, auth.users, running.syncAlways === true);
      // A new identity (the owner's key, created since the server started) is let in by a reload.
      if ((await readFile(configFile, "utf8").catch(() => "")) !== config) {
        const log = join(dir, "nats-server.log");
        const offset = (await stat(log).catch(() => undefined))?.size ?? 0;
        await writeConfig(configFile, config);
        signal(running.pid, "SIGHUP");
        if (await untilReloaded(log, offset)) joined = { nc: await connect(running.port) };
      } else {
        const nc = await connect(running.port).catch(() => undefined);
        if (nc) joined = { nc };
      }
    }
    if (!joined) {
      // No server, an open one from an older version, or one that no longer answers: a fresh one.
      if (running) await stopByPid(running);
      const version = natsServerVersion();
      const syncAlways = supportsSyncAlways(version);
      await writeConfig(configFile, renderServerConfig(dir, auth.users, syncAlways));
      const server = await startNatsServer({ storeDir: dir, detached: true, configFile });
      const info: ServerFile = {
        pid: server.pid,
        port: server.port,
        start: processStart(server.pid),
        auth: "nkey",
        ...(version ? { version } : {}),
        syncAlways,
      };
      await writeFile(serverFile, JSON.stringify(info));
      try {
        joined = { nc: await connect(server.port), server };
      } catch (err) {
        await server.stop();
        await rm(serverFile, { force: true });
        throw err;
      }
    }
    await writeFile(lease, JSON.stringify(me));
    return joined;
  });

  let released = false;
  return {
    nc,
    server,
    async release() {
      if (released) return;
      released = true;
      await withLock(dir, async () => {
        await rm(lease, { force: true });
        if ((await liveLeases(leases)) > 0) return;
        const info = await readServerFile(serverFile);
        if (server && info?.pid === server.pid) await server.stop();
        else if (info) await stopByPid(info);
        await rm(serverFile, { force: true });
      });
    },
  };
}

/** The config holds public keys only; 0600 anyway, like everything under the state directory. */
async function writeConfig(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

/** After a SIGHUP the server reports the new configuration in its log; false if it never does. */
async function untilReloaded(log: string, offset: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await readFile(log).then((b) => b.subarray(offset).toString("utf8"), () => "");
    if (text.includes("Reloaded server configuration")) return true;
    if (text.includes("Failed to reload")) return false;
    // The server says so only in its log (as it says "ready"): poll it, as startNatsServer does.
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Live leases in `dir`; files of dead processes are removed on the way. */
async function liveLeases(dir: string): Promise<number> {
  let live = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, f);
    let lease: LeaseFile;
    try {
      lease = JSON.parse(await readFile(path, "utf8")) as LeaseFile;
    } catch {
      // Written under the lock, so a torn file is one whose writer died mid-write.
      await rm(path, { force: true });
      continue;
    }
    if (isSameProcess(lease.pid, lease.start)) live += 1;
    else await rm(path, { force: true });
  }
  return live;
}

/**
 * Run `fn` holding `<dir>/server.lock` (exclusive create). A lock whose holder is gone is taken
 * over. Two servers on one store would corrupt it: this is what keeps starting single.
 * Known gap: two processes taking over the same stale lock at the same instant can both succeed
 * (the second removes the first's fresh lock); it needs a crash plus an exact tie to happen.
 */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lockFile = join(dir, "server.lock");
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    let fh;
    try {
      fh = await open(lockFile, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number((await readFile(lockFile, "utf8").catch(() => "")).trim());
      // An empty file is a holder between create and write: wait for it, unless it stayed empty
      // long enough that its writer must have died in between.
      const emptyAge = holder ? 0 : Date.now() - ((await stat(lockFile).catch(() => undefined))?.mtimeMs ?? Date.now());
      if ((holder && !isSameProcess(holder)) || emptyAge > EMPTY_LOCK_STALE_MS) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new NatsBackboneError(
          NatsErrorCode.ServerStart,
          `process ${holder || "?"} has held ${lockFile} for over ${LOCK_WAIT_MS / 1000} s`,
        );
      }
      // The holder is starting or stopping the server: back off, then try again.
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    try {
      await fh.writeFile(String(process.pid));
      await fh.close();
      return await fn();
    } finally {
      await rm(lockFile, { force: true });
    }
  }
}

async function readServerFile(file: string): Promise<ServerFile | undefined> {
  try {
    const info = JSON.parse(await readFile(file, "utf8")) as ServerFile;
    return Number.isInteger(info.pid) && Number.isInteger(info.port) ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stop a server another process started: SIGTERM, wait (a timer poll: it is not our child, so
 * there is no exit event, and the timer keeps Node's event loop alive meanwhile), then SIGKILL.
 */
async function stopByPid(info: ServerFile): Promise<void> {
  if (!isSameProcess(info.pid, info.start)) return;
  signal(info.pid, "SIGTERM");
  const deadline = Date.now() + STOP_WAIT_MS;
  while (isSameProcess(info.pid, info.start)) {
    if (Date.now() > deadline) {
      signal(info.pid, "SIGKILL");
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Exited in between: nothing to stop.
  }
}

/** Start time of a process (clock ticks since boot, /proc/<pid>/stat field 22); undefined without /proc. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** `pid` runs and, when `start` is known, is still the process that had that start time. */
function isSameProcess(pid: number, start?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // EPERM: it exists but belongs to someone else, so it is not the process we recorded.
    return false;
  }
  if (start === undefined) return true;
  const now = processStart(pid);
  if (now === undefined) return true;
  // A zombie (exited, not yet reaped by its parent) still has its stat: treat it as gone.
  if (isZombie(pid)) return false;
  return now === start;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}
