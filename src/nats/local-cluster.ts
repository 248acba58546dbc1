/**
 * A real nats-server cluster on loopback (3 nodes by default): routes, JetStream with a store per
 * node, Vibewriter's identities. Started by `scripts/nats-cluster.sh` (detached, its layout kept in
 * `<dir>/cluster.json` so that `stop`, `status` and a later `start` find it) and by the tests
 * (test/support/nats-cluster.ts). Node configs come from cluster-config.ts.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { processRunning } from "../config/index.ts";
import type { NatsUser } from "./auth.ts";
import { clusterSeedUrls, renderClusterNodeConfig, type ClusterSpec } from "./cluster-config.ts";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";
import { findNatsServer, startNatsServer, supportsSyncAlways, type NatsServer } from "./server.ts";

export const CLUSTER_FILE = "cluster.json";
export const CONFIG_FILE = "nats-server.conf";

export interface LocalClusterOptions {
  /** Holds `cluster.json` and one folder per node (`n1/`, `n2/`, …: config, log, store, pid). */
  dir: string;
  /** Identities admitted (`embeddedUsers(stateDir)`: what `vibewriter nats config` prints). */
  users: NatsUser[];
  /** Number of nodes (3). */
  size?: number;
  /** Cluster name (`vibewriter`). */
  name?: string;
  /**
   * First client, route and monitoring ports (node i gets base + i) when all are free; otherwise
   * (or when omitted) free ports. A cluster that already has a `cluster.json` keeps its ports.
   */
  basePorts?: { client: number; cluster: number; http: number };
  /** nats-server binary (default as the embedded server finds it). */
  binary?: string;
  /** Outlive this process (the script). */
  detached?: boolean;
}

export interface LocalClusterNode {
  readonly name: string;
  /** `nats://127.0.0.1:<client port>` */
  readonly url: string;
  /** `http://127.0.0.1:<monitoring port>` */
  readonly httpUrl: string;
  /** The process: `kill()` (SIGKILL), `restart()` on the same ports and store, `stop()`. */
  readonly server: NatsServer;
}

export interface LocalCluster {
  readonly name: string;
  readonly dir: string;
  /** Every node's client URL, comma-separated: the `NATS_URL` to give Vibewriter. */
  readonly urls: string;
  readonly nodes: LocalClusterNode[];
  /** The node whose `server_name` is `name`. */
  node(name: string): LocalClusterNode;
  /** Stop every node (SIGTERM), stores kept. */
  stop(): Promise<void>;
}

/** Start every node of the cluster in `opts.dir` (created, or as recorded there before). */
export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const found = findNatsServer(opts.binary);
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const spec = await loadOrCreateSpec(opts, supportsSyncAlways(found.version));
  const nodes: LocalClusterNode[] = [];
  try {
    // Nodes start one after the other (each is ready once it listens); the routes connect as they come.
    for (const [i, n] of spec.nodes.entries()) {
      const nodeDir = join(opts.dir, n.name);
      await mkdir(nodeDir, { recursive: true, mode: 0o700 });
      const configFile = join(nodeDir, CONFIG_FILE);
      await writeFile(configFile, renderClusterNodeConfig(spec, i), { mode: 0o600 });
      await chmod(configFile, 0o600);
      const server = await startNatsServer({ storeDir: nodeDir, port: n.clientPort, configFile, binary: found.binary, found: true, detached: opts.detached ?? false });
      nodes.push({ name: n.name, url: `nats://127.0.0.1:${n.clientPort}`, httpUrl: `http://127.0.0.1:${n.httpPort}`, server });
    }
  } catch (err) {
    for (const n of nodes) await n.server.stop().catch(() => {});
    throw err;
  }
  return {
    name: spec.name,
    dir: opts.dir,
    urls: clusterSeedUrls(spec),
    nodes,
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `no node named ${name} in cluster ${spec.name}`);
      return n;
    },
    async stop() {
      for (const n of nodes) await n.server.stop();
    },
  };
}

/** The layout recorded in `<dir>/cluster.json`, undefined when none was started there. */
export function readClusterSpec(dir: string): ClusterSpec | undefined {
  const file = join(dir, CLUSTER_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as ClusterSpec;
}

async function loadOrCreateSpec(opts: LocalClusterOptions, syncAlways: boolean): Promise<ClusterSpec> {
  const known = readClusterSpec(opts.dir);
  // Same nodes, ports and route password as before (the stores know their peers by name); the
  // identities and the binary's abilities are those of now.
  const spec: ClusterSpec = known
    ? { ...known, users: opts.users, syncAlways }
    : await newSpec(opts, syncAlways);
  await writeFile(join(opts.dir, CLUSTER_FILE), JSON.stringify(spec, null, 2) + "\n", { mode: 0o600 });
  return spec;
}

async function newSpec(opts: LocalClusterOptions, syncAlways: boolean): Promise<ClusterSpec> {
  const size = opts.size ?? 3;
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new NatsBackboneError(NatsErrorCode.InvalidArgument, `a local cluster has 1–9 nodes, not ${size}`);
  const ports = await pickPorts(size, opts.basePorts);
  const nodes = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const nodeDir = join(opts.dir, name);
    return { name, ...p, storeDir: nodeDir, pidFile: join(nodeDir, "nats-server.pid") };
  });
  return {
    name: opts.name ?? "vibewriter",
    nodes,
    routeUser: "route",
    routePassword: randomBytes(18).toString("base64url"),
    users: opts.users,
    syncAlways,
  };
}

type NodePorts = { clientPort: number; clusterPort: number; httpPort: number };

/** The base ports when every one is free, else ports the kernel hands out. */
async function pickPorts(size: number, base: LocalClusterOptions["basePorts"]): Promise<NodePorts[]> {
  if (base) {
    const wanted = Array.from({ length: size }, (_, i) => ({ clientPort: base.client + i, clusterPort: base.cluster + i, httpPort: base.http + i }));
    const all = wanted.flatMap((p) => [p.clientPort, p.clusterPort, p.httpPort]);
    if ((await Promise.all(all.map(isFree))).every(Boolean)) return wanted;
  }
  const out: NodePorts[] = [];
  for (let i = 0; i < size; i++) out.push({ clientPort: await freePort(), clusterPort: await freePort(), httpPort: await freePort() });
  return out;
}

/** A loopback port the kernel hands out (bound, read, released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once("error", reject).listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function isFree(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** What a node's monitoring endpoint says of JetStream's meta group (`/jsz`). */
export interface MetaGroupView {
  /** `server_name` of the meta leader; undefined while none is elected. */
  leader?: string;
  /** Size of the meta group this node knows. */
  clusterSize?: number;
  /** Peers (besides the leader) current with the meta group, as the leader sees them. */
  currentPeers: number;
}

/** `/jsz` of one node; undefined when the node does not answer. */
export async function metaGroupOf(httpUrl: string): Promise<MetaGroupView | undefined> {
  try {
    const res = await fetch(`${httpUrl}/jsz`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { current?: boolean }[] } };
    const meta = body.meta_cluster;
    return { leader: meta?.leader || undefined, clusterSize: meta?.cluster_size, currentPeers: (meta?.replicas ?? []).filter((r) => r.current).length };
  } catch {
    return undefined;
  }
}

/**
 * Wait until JetStream works on the cluster: the JetStream API answers `$JS.API.INFO` through
 * `nc` (only once a meta leader is elected), every node in `nodes` names that leader on its
 * monitoring endpoint, and the leader sees the others current (each has joined the meta group, so
 * an R3 stream can be placed). A condition polled, not a delay; fails with what was last seen
 * after `timeoutMs`.
 */
export async function waitForJetStream(nc: NatsConnection, nodes: readonly Pick<LocalClusterNode, "name" | "httpUrl">[], timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "nothing yet";
  for (;;) {
    const api = await nc
      .request("$JS.API.INFO", undefined, { timeout: 2_000 })
      .then((m) => m.json<{ error?: { description?: string } }>())
      .catch((e: Error) => ({ error: { description: e.message } }));
    if (api.error) last = `$JS.API.INFO: ${api.error.description}`;
    else {
      const views = await Promise.all(nodes.map((n) => metaGroupOf(n.httpUrl)));
      const leaders = new Set(views.map((v) => v?.leader));
      const leader = views[0]?.leader;
      const leaderView = views[nodes.findIndex((n) => n.name === leader)];
      if (leader && leaders.size === 1 && leaderView && leaderView.currentPeers >= nodes.length - 1) return leader;
      last = `meta leader per node: ${nodes.map((n, i) => `${n.name}=${views[i]?.leader ?? "none"}`).join(", ")}`;
    }
    if (Date.now() > deadline) {
      throw new NatsBackboneError(NatsErrorCode.ServerStart, `JetStream did not come up on the cluster within ${timeoutMs} ms (${last})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Running nodes of a cluster started in `dir` (pid file, process alive and running our config). */
export function runningNodes(dir: string): { name: string; pid: number }[] {
  const spec = readClusterSpec(dir);
  if (!spec) return [];
  const out: { name: string; pid: number }[] = [];
  for (const n of spec.nodes) {
    const pid = nodePid(dir, n.name, n.pidFile);
    if (pid !== undefined) out.push({ name: n.name, pid });
  }
  return out;
}

function nodePid(dir: string, name: string, pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    // Only a nats-server on this node's config: a recycled pid is someone else's process.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmdline.includes(join(dir, name, CONFIG_FILE)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM every running node of the cluster in `dir` and wait for each to exit (SIGKILL after 15 s). */
export async function stopLocalCluster(dir: string): Promise<string[]> {
  const running = runningNodes(dir);
  for (const n of running) process.kill(n.pid, "SIGTERM");
  for (const n of running) {
    const deadline = Date.now() + 15_000;
    while (processRunning(n.pid)) {
      if (Date.now() > deadline) {
        process.kill(n.pid, "SIGKILL");
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return running.map((n) => n.name);
}
