import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm, setSha256Backend, StorageType } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { stateDir as defaultStateDir } from "../config/paths.ts";
import { ArtifactStore } from "./artifacts.ts";
import { JetStreamCheckpointSaver } from "./checkpointer.ts";
import { connectNats, natsOptionsFromEnv } from "./connection.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { EventLog } from "./events.ts";
import { startNatsServer, type NatsServer } from "./server.ts";
import { JetStreamStore } from "./store.ts";
import { ensureStream, eventsStreamConfig, Names, stateStreamConfig } from "./streams.ts";

/** Everything Vibewriter keeps in NATS, opened once per process. */
export interface Backbone {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  checkpointer: JetStreamCheckpointSaver;
  store: JetStreamStore;
  artifacts: ArtifactStore;
  events: EventLog;
  /** The embedded server, when this process started it. */
  server?: NatsServer;
  /** Drain the connection; stop the embedded server if this process started it. */
  close(): Promise<void>;
}

export interface OpenBackboneOptions {
  /** Overrides `NATS_URL`. */
  natsUrl?: string;
  /** Environment to read NATS_URL / credentials / VIBEWRITER_STATE_DIR from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** State directory for the embedded server (default `stateDir()`); data goes in `<it>/nats`. */
  stateDir?: string;
  /** Connection name. */
  name?: string;
}

/** Written next to the embedded server's store so a second process can find and reuse it. */
interface ServerFile {
  pid: number;
  port: number;
}

/**
 * Connect to `NATS_URL` (with optional credentials) or, without it, to the embedded nats-server
 * for the state directory — reusing one another process already runs there, else starting one.
 * Streams and buckets are created idempotently.
 */
export async function openBackbone(opts: OpenBackboneOptions = {}): Promise<Backbone> {
  const env = opts.env ?? process.env;
  const name = opts.name ?? `vibewriter-${process.pid}`;
  const fromEnv = natsOptionsFromEnv(env);
  let server: NatsServer | undefined;
  let nc: NatsConnection;
  let serverFile: string | undefined;
  if (opts.natsUrl) {
    nc = await connectNats({ ...fromEnv, url: opts.natsUrl, name });
  } else if (fromEnv) {
    nc = await connectNats({ ...fromEnv, name });
  } else {
    const dir = join(opts.stateDir ?? defaultStateDir(env), "nats");
    await mkdir(dir, { recursive: true });
    const embedded = await embeddedServer(dir, name);
    nc = embedded.nc;
    server = embedded.server;
    serverFile = server ? join(dir, "server.json") : undefined;
  }
  try {
    const backbone = await openOnConnection(nc, { server, serverFile });
    // Chunks of puts that died with an earlier process (older than the grace period).
    await backbone.artifacts.sweep();
    return backbone;
  } catch (err) {
    await nc.close().catch(() => {});
    if (server) await server.stop();
    throw err;
  }
}

/** Build a Backbone on an existing connection (used by the test kit). */
export async function openOnConnection(
  nc: NatsConnection,
  owned: { server?: NatsServer; serverFile?: string } = {},
): Promise<Backbone> {
  // Node's native hash is 4–7× faster than the client's JS sha256 (NOTES.md).
  setSha256Backend("native");
  const js = jetstream(nc, { timeout: 10_000 });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  await ensureStream(jsm, stateStreamConfig());
  await ensureStream(jsm, eventsStreamConfig());
  const kv = await new Kvm(js).create(Names.memoryBucket, {
    history: 1,
    storage: StorageType.File,
    description: "Vibewriter long-term memory (LangGraph store)",
  });
  const os = await new Objm(js).create(Names.filesBucket, {
    storage: StorageType.File,
    description: "Vibewriter artifacts",
  });
  const checkpointer = new JetStreamCheckpointSaver({ nc, js, jsm });
  const store = new JetStreamStore({ kv, js, bucket: Names.memoryBucket });
  const artifacts = new ArtifactStore({ os, jsm, bucket: Names.filesBucket });
  const events = new EventLog(js);
  let closed = false;
  return {
    nc,
    js,
    jsm,
    checkpointer,
    store,
    artifacts,
    events,
    server: owned.server,
    async close() {
      if (closed) return;
      closed = true;
      await checkpointer.close();
      await nc.drain().catch(() => nc.close());
      if (owned.server) {
        await owned.server.stop();
        if (owned.serverFile) await rm(owned.serverFile, { force: true });
      }
    },
  };
}

/**
 * Reuse the server another process runs on this store, or start one. Two servers on one store
 * would corrupt it, so starting is serialised by an exclusive lock file (a stale lock, whose
 * process is gone, is taken over).
 */
async function embeddedServer(dir: string, name: string): Promise<{ nc: NatsConnection; server?: NatsServer }> {
  const serverFile = join(dir, "server.json");
  const lockFile = join(dir, "server.lock");
  const deadline = Date.now() + 60_000;
  for (;;) {
    const running = await findRunningServer(serverFile, name);
    if (running) return { nc: running };
    let lock;
    try {
      lock = await open(lockFile, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number((await readFile(lockFile, "utf8").catch(() => "")).trim());
      if (!holder || !isAlive(holder)) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new NatsBackboneError(
          NatsErrorCode.ServerStart,
          `process ${holder} holds ${lockFile} and has not started the embedded nats-server within 60 s`,
        );
      }
      // Another process is starting the server right now: back off, then look again.
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      await lock.writeFile(String(process.pid));
      await lock.close();
      const again = await findRunningServer(serverFile, name);
      if (again) return { nc: again };
      const server = await startNatsServer({ storeDir: dir, detached: true });
      const info: ServerFile = { pid: server.pid, port: server.port };
      await writeFile(serverFile, JSON.stringify(info));
      return { nc: await connectNats({ url: server.url, name }), server };
    } finally {
      await rm(lockFile, { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function findRunningServer(file: string, name: string): Promise<NatsConnection | undefined> {
  let info: ServerFile;
  try {
    info = JSON.parse(await readFile(file, "utf8")) as ServerFile;
  } catch {
    return undefined;
  }
  if (!isAlive(info.pid)) return undefined; // stale file: the process is gone
  try {
    return await connectNats({ url: `nats://127.0.0.1:${info.port}`, name });
  } catch {
    return undefined;
  }
}
