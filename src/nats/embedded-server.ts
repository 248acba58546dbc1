import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nuid, type NatsConnection } from "@nats-io/transport-node";
import { renderAuthorization, type NatsUser } from "./auth.ts";
import { connectNats } from "./connection.ts";
import { diskFullError, diskSpace, keepReserve, LOW_WATER_BYTES, maxFileStore, noteEmbeddedStore, releaseReserve } from "./disk-space.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { findNatsServer, startNatsServer, supportsSyncAlways, type NatsServer } from "./server.ts";
import { isSameProcess, processStart, withStoreLock } from "./store-lock.ts";
import { serversOnStore } from "./store-processes.ts";
import { supervise } from "./supervisor.ts";

/**
 * How long the first handshake with the embedded server may take. A server this machine runs
 * answers unless the machine is starved: at a load of 17 the client's 20 s ran out. A remote
 * server keeps the client's default, so a wrong URL fails sooner.
 */
export const LOCAL_HANDSHAKE_MS = 60_000;

export { processStart } from "./store-lock.ts";

/**
 * The embedded nats-server of a state directory, shared by every Vibewriter process using it.
 *
 * Files under `<dir>` (the server's store dir):
 * - `server.json` — pid, port, start time and settings of the running server;
 * - `leases/<pid>.<start>.<id>` — one per open backbone; the server runs while a live lease exists;
 * - `server.lock` — held (briefly) by whoever starts, restarts, joins or leaves (store-lock.ts);
 * - `space.reserve` — room given back on a full disk (disk-space.ts).
 *
 * One server per store: before starting one, /proc is searched for a nats-server already running
 * on the store (store-processes.ts); one Vibewriter did not record is joined, or refused clearly.
 *
 * Supervised (supervisor.ts): when the server dies, a process using it restarts it on the same
 * store and port, and every client reconnects; when it cannot, or the disk fills, `lost` rejects.
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
  /** Rejects when the server is gone for good (not restartable, or its disk full); never resolves. */
  lost: Promise<never>;
  /** That reason, once it happened. */
  readonly failure: NatsBackboneError | undefined;
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
  /** The `max_file_store` it was started with (absent: none, as before this field). */
  maxFileStore?: number;
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
 * to start on the unknown key), `max_file_store` when given (disk-space.ts), and the identities
 * it admits.
 */
export function renderServerConfig(storeDir: string, users: NatsUser[], syncAlways: boolean, maxFileStore?: number): string {
  const jetstream = {
    store_dir: storeDir,
    ...(maxFileStore !== undefined ? { max_file_store: maxFileStore } : {}),
    ...(syncAlways ? { sync_interval: "always" } : {}),
  };
  return `jetstream: ${JSON.stringify(jetstream)}\n${renderAuthorization(users)}`;
}

/** The durability of the embedded server running on store `dir`; undefined when none runs. */
export async function embeddedDurability(dir: string): Promise<EmbeddedDurability | undefined> {
  const info = await readServerFile(join(dir, "server.json"));
  if (!info || !isSameProcess(info.pid, info.start)) return undefined;
  return { ...(info.version ? { version: info.version } : {}), syncAlways: info.syncAlways === true };
}

/** The `max_file_store` the running embedded server on store `dir` was started with, when recorded. */
export async function embeddedStoreCap(dir: string): Promise<number | undefined> {
  const info = await readServerFile(join(dir, "server.json"));
  return info && isSameProcess(info.pid, info.start) ? info.maxFileStore : undefined;
}

/** Contents of a lease file. */
interface LeaseFile {
  pid: number;
  start?: number;
}

const STOP_WAIT_MS = 10_000;

export interface EmbeddedServerOptions {
  /** Give up on a vanished server after this long (default 10 s, `VIBEWRITER_NATS_RESTART_SEC`). */
  giveUpMs?: number;
}

export async function openEmbeddedServer(
  dir: string,
  name: string,
  auth: EmbeddedAuth,
  opts: EmbeddedServerOptions = {},
): Promise<EmbeddedServerHandle> {
  const leases = join(dir, "leases");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await mkdir(leases, { recursive: true });
  noteEmbeddedStore(dir);
  // A full disk: give the reserve back first, so the lock, the lease and the server's log fit.
  if (diskSpace(dir).free < LOW_WATER_BYTES) await releaseReserve(dir);
  const serverFile = join(dir, "server.json");
  const configFile = join(dir, SERVER_CONFIG_FILE);
  const connect = (port: number) => connectNats({ url: `nats://127.0.0.1:${port}`, name, nkeySeed: auth.seed, timeoutMs: LOCAL_HANDSHAKE_MS });
  // The lease's owner is in its name: an empty file needs no data block, so it fits a full disk.
  const lease = join(leases, `${process.pid}.${processStart(process.pid) ?? 0}.${nuid.next()}`);

  /** Start a server on the store (none runs there: checked under the lock), on `port` when given. */
  const start = async (port?: number): Promise<NatsServer> => {
    refuseStrangers(dir, []);
    const { binary, version } = findNatsServer();
    const syncAlways = supportsSyncAlways(version);
    const maxStore = await maxFileStore(dir);
    await writeConfig(configFile, renderServerConfig(dir, auth.users, syncAlways, maxStore));
    const server = await startNatsServer({ storeDir: dir, detached: true, configFile, binary, found: true, ...(port ? { port } : {}) });
    const info: ServerFile = {
      pid: server.pid,
      port: server.port,
      start: processStart(server.pid),
      auth: "nkey",
      ...(version ? { version } : {}),
      syncAlways,
      maxFileStore: maxStore,
    };
    await writeFile(serverFile, JSON.stringify(info));
    await keepReserve(dir);
    return server;
  };

  const { nc, server } = await withStoreLock(dir, async () => {
    let joined: { nc: NatsConnection; server?: NatsServer } | undefined;
    let running = await readServerFile(serverFile);
    if (!running || !isSameProcess(running.pid, running.start)) running = (await adoptStranger(dir, configFile, serverFile, connect)) ?? running;
    if (running && running.auth === "nkey" && isSameProcess(running.pid, running.start)) {
      // Its settings as it was started: a reload that changed them would fail.
      const config = renderServerConfig(dir, auth.users, running.syncAlways === true, running.maxFileStore);
      // A new identity (the owner's key, created since the server started) is let in by a reload.
      if ((await readFile(configFile, "utf8").catch(() => "")) !== config) {
        const log = join(dir, "nats-server.log");
        const offset = (await stat(log).catch(() => undefined))?.size ?? 0;
        await writeConfig(configFile, config);
        signal(running.pid, "SIGHUP");
        if (await untilReloaded(log, offset)) joined = { nc: await connect(running.port) };
      } else {
        const nc = await connect(running.port).catch(() => undefined);
        // A server whose JetStream stopped (it met a full disk) answers but stores nothing: replace it.
        if (nc && (await jetStreamAnswers(nc))) joined = { nc };
        else await nc?.close().catch(() => {});
      }
    }
    if (!joined) {
      // No server, an open one from an older version, or one that no longer answers: a fresh one.
      if (running) await stopByPid(running);
      const server = await start();
      try {
        joined = { nc: await connect(server.port), server };
      } catch (err) {
        await server.stop();
        await rm(serverFile, { force: true });
        throw err;
      }
    }
    await writeFile(lease, "");
    return joined;
  });

  // The server this process started last (its first one, or one it restarted).
  let mine = server;
  const supervisor = supervise({
    nc,
    giveUpMs: opts.giveUpMs,
    describe: () => `store ${dir}`,
    revive: () =>
      withStoreLock(dir, async () => {
        const info = await readServerFile(serverFile);
        if (info && isSameProcess(info.pid, info.start)) return; // running (restarted by another process)
        if (await adoptStranger(dir, configFile, serverFile, connect)) return;
        if (!info) throw new NatsBackboneError(NatsErrorCode.ServerLost, `${serverFile} is gone: the server was stopped on purpose`);
        // The same port: every client of this store reconnects to the port it knows.
        mine = await start(info.port);
      }),
    checkDisk: async () => {
      if (diskSpace(dir).free >= LOW_WATER_BYTES) return undefined;
      await releaseReserve(dir); // room for the server's last writes
      return (await jetStreamAnswers(nc)) ? undefined : diskFullError(undefined, dir);
    },
  });

  let released = false;
  return {
    nc,
    server,
    lost: supervisor.lost,
    get failure() {
      return supervisor.failure;
    },
    async release() {
      if (released) return;
      released = true;
      supervisor.stop();
      await withStoreLock(dir, async () => {
        await rm(lease, { force: true });
        if ((await liveLeases(leases)) > 0) return;
        const info = await readServerFile(serverFile);
        if (mine && info?.pid === mine.pid) await stopOwn(mine);
        else if (info) await stopByPid(info);
        await rm(serverFile, { force: true });
      });
    },
  };
}

/**
 * Never a second server on one store: a nats-server on it that Vibewriter did not record (started
 * by hand with our config, or its record lost) is joined when it lets us in, else refused clearly.
 */
async function adoptStranger(
  dir: string,
  configFile: string,
  serverFile: string,
  connect: (port: number) => Promise<NatsConnection>,
): Promise<ServerFile | undefined> {
  for (const p of serversOnStore(dir)) {
    // Only a server running our own config admits exactly our identities (not an open one).
    if (!p.args.includes(configFile)) continue;
    for (const port of p.ports) {
      const nc = await connect(port).catch(() => undefined);
      if (!nc) continue;
      await nc.close().catch(() => {});
      const config = await readFile(configFile, "utf8").catch(() => "");
      const maxStore = /"max_file_store":(\d+)/.exec(config)?.[1];
      const info: ServerFile = {
        pid: p.pid,
        port,
        start: processStart(p.pid),
        auth: "nkey",
        syncAlways: config.includes('"sync_interval":"always"'),
        ...(maxStore ? { maxFileStore: Number(maxStore) } : {}),
      };
      await writeFile(serverFile, JSON.stringify(info));
      return info;
    }
  }
  refuseStrangers(dir, []);
  return undefined;
}

/** Throws when a nats-server not in `except` runs on the store: starting one would make two. */
function refuseStrangers(dir: string, except: number[]): void {
  const others = serversOnStore(dir, except);
  if (others.length === 0) return;
  const pids = others.map((o) => o.pid).join(", ");
  throw new NatsBackboneError(
    NatsErrorCode.ServerLost,
    `another nats-server (pid ${pids}) already runs on the store ${dir} and does not let Vibewriter in; ` +
      `Vibewriter never starts a second server on one store. Stop it (kill ${pids}), or use it through NATS_URL.`,
  );
}

/** JetStream answers its API (a server whose JetStream was disabled, e.g. by a full disk, does not). */
async function jetStreamAnswers(nc: NatsConnection): Promise<boolean> {
  try {
    const m = await nc.request("$JS.API.INFO", undefined, { timeout: 2_000 });
    return !(m.json<{ error?: unknown }>().error);
  } catch {
    return false;
  }
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
    const lease = await readLease(path, f);
    if (lease && isSameProcess(lease.pid, lease.start || undefined)) live += 1;
    else await rm(path, { force: true });
  }
  return live;
}

/** `<pid>.<start>.<id>` (empty file), or an older version's `<pid>.<id>` holding JSON. */
async function readLease(path: string, name: string): Promise<LeaseFile | undefined> {
  const m = /^(\d+)\.(\d+)\.[^.]+$/.exec(name);
  if (m) return { pid: Number(m[1]), start: Number(m[2]) };
  try {
    return JSON.parse(await readFile(path, "utf8")) as LeaseFile;
  } catch {
    return undefined; // a torn file is one whose writer died mid-write
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
 * Stop a server this process started: SIGTERM, then SIGKILL when it does not exit in time (a 2.9
 * server whose JetStream met a full disk ignores SIGTERM).
 */
async function stopOwn(server: NatsServer): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), STOP_WAIT_MS)));
  const outcome = await Promise.race([server.stop().then(() => "stopped" as const), late]);
  clearTimeout(timer);
  if (outcome === "late") await server.kill();
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
