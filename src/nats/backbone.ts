import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm, setSha256Backend, StorageType } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { stateDir as defaultStateDir } from "../config/paths.ts";
import { ArtifactStore } from "./artifacts.ts";
import { JetStreamCheckpointSaver } from "./checkpointer.ts";
import { connectNats, natsOptionsFromEnv } from "./connection.ts";
import { openEmbeddedServer } from "./embedded-server.ts";
import { EventLog } from "./events.ts";
import type { NatsServer } from "./server.ts";
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
  /**
   * Drain the connection and drop this process's lease on the embedded server: the last open
   * backbone on a state dir stops it, whichever process started it.
   */
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

/**
 * Connect to `NATS_URL` (with optional credentials) or, without it, to the embedded nats-server
 * for the state directory — reusing one another process already runs there, else starting one
 * (see embedded-server.ts for how processes share it).
 * Streams and buckets are created idempotently.
 */
export async function openBackbone(opts: OpenBackboneOptions = {}): Promise<Backbone> {
  const env = opts.env ?? process.env;
  const name = opts.name ?? `vibewriter-${process.pid}`;
  const fromEnv = natsOptionsFromEnv(env);
  let server: NatsServer | undefined;
  let nc: NatsConnection;
  let release: (() => Promise<void>) | undefined;
  if (opts.natsUrl) {
    nc = await connectNats({ ...fromEnv, url: opts.natsUrl, name });
  } else if (fromEnv) {
    nc = await connectNats({ ...fromEnv, name });
  } else {
    const dir = join(opts.stateDir ?? defaultStateDir(env), "nats");
    await mkdir(dir, { recursive: true });
    const embedded = await openEmbeddedServer(dir, name);
    nc = embedded.nc;
    server = embedded.server;
    release = embedded.release;
  }
  try {
    const backbone = await openOnConnection(nc, { server, release });
    // Chunks of puts that died with an earlier process (older than the grace period).
    await backbone.artifacts.sweep();
    return backbone;
  } catch (err) {
    await nc.close().catch(() => {});
    await release?.();
    throw err;
  }
}

/** Build a Backbone on an existing connection (used by the test kit). */
export async function openOnConnection(
  nc: NatsConnection,
  owned: { server?: NatsServer; release?: () => Promise<void> } = {},
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
      await owned.release?.();
    },
  };
}
