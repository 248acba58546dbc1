import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm, setSha256Backend, StorageType } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { stateDir as defaultStateDir } from "../config/index.ts";
import { artifactBlobs, type ArtifactBlobs } from "./artifact-blobs.ts";
import { ArtifactStore } from "./artifacts.ts";
import { NatsRole } from "./auth.ts";
import { JetStreamCheckpointSaver } from "./checkpointer.ts";
import { connectNats, natsOptionsFromEnv } from "./connection.ts";
import { isNoRoom } from "./disk-space.ts";
import { LOCAL_HANDSHAKE_MS, openEmbeddedServer } from "./embedded-server.ts";
import { embeddedUsers, loadOrCreateIdentity } from "./identities.ts";
import { EventLog } from "./events.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import type { NatsServer } from "./server.ts";
import { assertReplicas, assertReplicasFit, replicasFromEnv, REPLICAS_ENV, tooFewServers } from "./replicas.ts";
import { createWhileSettling } from "./settle.ts";
import { JetStreamStore } from "./store.ts";
import { urlIdentitySeed } from "./url-identity.ts";
import { ensureStream, eventsStreamConfig, Names, stateStreamConfig } from "./streams.ts";

/** Everything Vibewriter keeps in NATS, opened once per process. */
export interface Backbone {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  checkpointer: JetStreamCheckpointSaver;
  store: JetStreamStore;
  artifacts: ArtifactStore;
  /** The same Object Store as whole named blobs: the port the agent and the sandbox take (`artifact-blobs.ts`). */
  blobs: ArtifactBlobs;
  events: EventLog;
  /** The embedded server, when this process started it. */
  server?: NatsServer;
  /** The identity this process acts as. */
  role: NatsRole;
  /**
   * Replicas of every stream, KV and Object Store bucket Vibewriter creates (`VIBEWRITER_NATS_REPLICAS`,
   * default 1; the embedded server: 1). Whatever opens one later (leases, run queue) passes it on.
   */
  replicas: number;
  /**
   * How the connection authenticated: "nkey" (the embedded server's own identities), or for
   * `NATS_URL` what the environment gave ("creds", "user", "token", "none").
   */
  auth: BackboneAuth;
  /**
   * Rejects when the embedded server is gone for good: it died and could not be restarted, or the
   * disk under its store filled (NatsBackboneError server_lost / disk_full). Never resolves; with
   * `NATS_URL` it never settles (that server is the operator's, reconnected to forever).
   */
  lost: Promise<never>;
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
  /**
   * The identity to act as (default runtime). Only the runtime creates and maintains streams and
   * buckets; the owner and the viewer open them as they are.
   */
  role?: NatsRole;
  /** The owner's nkey seed, unlocked by the owner (role owner on the embedded server). */
  ownerSeed?: Uint8Array;
  /** Lays out what other layers keep in NATS (ledger, payments, Choir), over a runtime connection. */
  provision?: (nats: { js: JetStreamClient; jsm: JetStreamManager; replicas: number }) => Promise<void>;
  /** Overrides `VIBEWRITER_NATS_REPLICAS`. */
  replicas?: number;
}

export type BackboneAuth = "nkey" | "creds" | "user" | "token" | "none";

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
  const role = opts.role ?? NatsRole.Runtime;
  let server: NatsServer | undefined;
  let nc: NatsConnection;
  let release: (() => Promise<void>) | undefined;
  let lost: Promise<never> | undefined;
  let auth: BackboneAuth;
  const replicas = opts.replicas ?? replicasFromEnv(env) ?? 1;
  if (opts.natsUrl || fromEnv) {
    const conn = { ...fromEnv, ...(opts.natsUrl ? { url: opts.natsUrl } : {}), name } as Parameters<typeof connectNats>[0];
    // No credentials in the environment: this installation's identity for the role, when it has one
    // (a cluster whose authorization is `vibewriter nats config`'s).
    if (!conn.credsFile && !conn.token && !conn.user) {
      const seed = await urlIdentitySeed(opts.stateDir ?? defaultStateDir(env), role, opts.ownerSeed);
      if (seed) conn.nkeySeed = seed;
    }
    auth = conn.nkeySeed ? "nkey" : conn.credsFile ? "creds" : conn.token ? "token" : conn.user ? "user" : "none";
    nc = await connectNats(conn);
  } else {
    if (replicas !== 1) {
      throw new NatsBackboneError(
        NatsErrorCode.InvalidArgument,
        `${REPLICAS_ENV}=${replicas} needs a NATS cluster (NATS_URL with its servers' URLs); the embedded server is a single node and keeps 1 replica`,
      );
    }
    const state = opts.stateDir ?? defaultStateDir(env);
    const dir = join(state, "nats");
    await mkdir(dir, { recursive: true });
    const seed =
      role === NatsRole.Owner
        ? opts.ownerSeed
        : (await loadOrCreateIdentity(state, role === NatsRole.Viewer ? NatsRole.Viewer : NatsRole.Runtime)).seed;
    if (!seed) throw new NatsBackboneError(NatsErrorCode.InvalidArgument, "the owner's identity needs the owner's unlocked key");
    const embedded = await openEmbeddedServer(dir, name, { seed, users: await embeddedUsers(state) }, { giveUpMs: giveUpMsFromEnv(env) });
    nc = embedded.nc;
    lost = embedded.lost;
    server = embedded.server;
    release = embedded.release;
    auth = "nkey";
    // A server this process started has empty streams: the runtime lays them out once.
    if (server && role !== NatsRole.Runtime) {
      const runtime = await loadOrCreateIdentity(state, NatsRole.Runtime);
      const rc = await connectNats({ url: server.url, name: `${name}-provision`, nkeySeed: runtime.seed, timeoutMs: LOCAL_HANDSHAKE_MS });
      try {
        const provisioned = await openOnConnection(rc, { role: NatsRole.Runtime, replicas });
        await opts.provision?.(provisioned);
        await provisioned.close();
      } catch (err) {
        // On a full disk a reader still reads what is there; only laying out something new needs room.
        if (!isNoRoom(err)) throw err;
      } finally {
        await rc.close().catch(() => {});
      }
    }
  }
  try {
    const backbone = await openOnConnection(nc, { server, release, role, auth, lost, replicas });
    if (role === NatsRole.Runtime) {
      await opts.provision?.(backbone);
      // Everything created above has `replicas`; what existed before with another count is said, not rescaled.
      await assertReplicas(backbone.jsm, replicas);
      // Chunks of puts that died with an earlier process (older than the grace period).
      await backbone.artifacts.sweep();
    }
    return backbone;
  } catch (err) {
    await nc.close().catch(() => {});
    await release?.();
    throw err;
  }
}

const DRAIN_WAIT_MS = 5_000;

/** Wait for `work` (its failure ignored), at most `ms`. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  await Promise.race([work.catch(() => {}), late]);
  clearTimeout(timer);
}

/** `VIBEWRITER_NATS_RESTART_SEC`: how long a vanished embedded server is tried again before the run ends (10). */
export function giveUpMsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.VIBEWRITER_NATS_RESTART_SEC?.trim();
  if (!raw) return undefined;
  const sec = Number(raw);
  if (!Number.isFinite(sec) || sec <= 0) {
    throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `VIBEWRITER_NATS_RESTART_SEC must be a positive number of seconds, not "${raw}"`);
  }
  return sec * 1000;
}

/** Build a Backbone on an existing connection (used by the test kit). */
export async function openOnConnection(
  nc: NatsConnection,
  owned: { server?: NatsServer; release?: () => Promise<void>; role?: NatsRole; auth?: BackboneAuth; lost?: Promise<never>; replicas?: number } = {},
): Promise<Backbone> {
  // Node's native hash is 4–7× faster than the client's JS sha256 (NOTES.md).
  setSha256Backend("native");
  const role = owned.role ?? NatsRole.Runtime;
  const replicas = owned.replicas ?? 1;
  const js = jetstream(nc, { timeout: 10_000 });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  let kv, os;
  if (role === NatsRole.Runtime) {
    assertReplicasFit(nc.info, replicas);
    try {
      // Several workers starting at once create the same streams: the cluster settles it.
      await createWhileSettling(() => ensureStream(jsm, stateStreamConfig(replicas)));
      await createWhileSettling(() => ensureStream(jsm, eventsStreamConfig(replicas)));
      kv = await createWhileSettling(() =>
        new Kvm(js).create(Names.memoryBucket, {
          history: 1,
          replicas,
          storage: StorageType.File,
          description: "Vibewriter long-term memory (LangGraph store)",
        }),
      );
      os = await createWhileSettling(() =>
        new Objm(js).create(Names.filesBucket, {
          storage: StorageType.File,
          replicas,
          description: "Vibewriter artifacts",
        }),
      );
    } catch (err) {
      throw (isNoRoom(err) && tooFewServers(nc.info, replicas, err)) || err;
    }
  } else {
    // The owner and the viewer may not create or reconfigure anything: open what the runtime made.
    kv = await new Kvm(js).open(Names.memoryBucket);
    os = await new Objm(js).open(Names.filesBucket);
  }
  const checkpointer = new JetStreamCheckpointSaver({ nc, js, jsm });
  const store = new JetStreamStore({ kv, js, bucket: Names.memoryBucket });
  const artifacts = new ArtifactStore({ os, jsm, bucket: Names.filesBucket });
  const events = new EventLog(js, { nc, jsm });
  let closed = false;
  return {
    nc,
    js,
    jsm,
    checkpointer,
    store,
    artifacts,
    blobs: artifactBlobs(artifacts),
    events,
    server: owned.server,
    role,
    replicas,
    auth: owned.auth ?? "none",
    lost: owned.lost ?? new Promise<never>(() => {}),
    async close() {
      if (closed) return;
      closed = true;
      // Both wait for a server that may be gone (Ctrl-C while it restarts or after it was lost):
      // bounded, then the connection is closed, which fails what still waits (nothing acknowledged).
      await within(DRAIN_WAIT_MS, checkpointer.close());
      await within(DRAIN_WAIT_MS, nc.drain());
      if (!nc.isClosed()) await nc.close().catch(() => {});
      await owned.release?.();
    },
  };
}
