/**
 * The config of one node of a self-hosted nats-server cluster for Vibewriter: the one place that
 * writes it, for `scripts/nats-cluster.sh` (through src/nats/local-cluster.ts) and the tests'
 * 3-node cluster alike.
 *
 * Each node: its own `server_name`, client and monitoring listeners on loopback, JetStream with
 * its own store directory, a route to every other node (routes authenticated with a password only
 * the nodes' configs hold), and the `authorization` block of `vibewriter nats config` (the
 * installation's runtime, owner and viewer nkeys with their permissions; no anonymous access).
 */
import { renderAuthorization, type NatsUser } from "./auth.ts";

export interface ClusterNodeSpec {
  /** `server_name`, unique in the cluster (JetStream's peers are named by it). */
  name: string;
  /** Client port on 127.0.0.1. */
  clientPort: number;
  /** Route (cluster) port on 127.0.0.1. */
  clusterPort: number;
  /** Monitoring (HTTP) port on 127.0.0.1: `/jsz` names the meta leader. */
  httpPort: number;
  /** JetStream store directory of this node (no two nodes share one). */
  storeDir: string;
  /** Where the server writes its pid (`pid_file`). */
  pidFile: string;
}

export interface ClusterSpec {
  /** The cluster's name (`cluster.name`). */
  name: string;
  nodes: ClusterNodeSpec[];
  /** Route credentials, shared by the nodes only. */
  routeUser: string;
  routePassword: string;
  /** Identities admitted (public keys only), as `vibewriter nats config` prints them. */
  users: NatsUser[];
  /** `sync_interval: always` (nats-server ≥ 2.10 only: 2.9 refuses to start on the key). */
  syncAlways: boolean;
}

/** `nats-server.conf` of `spec.nodes[index]` (NATS config syntax accepts JSON values). */
export function renderClusterNodeConfig(spec: ClusterSpec, index: number): string {
  const node = spec.nodes[index];
  if (!node) throw new RangeError(`no node ${index} in a cluster of ${spec.nodes.length}`);
  const route = (n: ClusterNodeSpec) =>
    `nats-route://${encodeURIComponent(spec.routeUser)}:${encodeURIComponent(spec.routePassword)}@127.0.0.1:${n.clusterPort}`;
  const jetstream = { store_dir: node.storeDir, ...(spec.syncAlways ? { sync_interval: "always" } : {}) };
  const cluster = {
    name: spec.name,
    listen: `127.0.0.1:${node.clusterPort}`,
    authorization: { user: spec.routeUser, password: spec.routePassword },
    routes: spec.nodes.filter((n) => n !== node).map(route),
  };
  return (
    `# Vibewriter cluster ${spec.name}, node ${node.name} (written by src/nats/cluster-config.ts)\n` +
    `server_name: ${JSON.stringify(node.name)}\n` +
    `listen: ${JSON.stringify(`127.0.0.1:${node.clientPort}`)}\n` +
    `http: ${JSON.stringify(`127.0.0.1:${node.httpPort}`)}\n` +
    `pid_file: ${JSON.stringify(node.pidFile)}\n` +
    `jetstream: ${JSON.stringify(jetstream)}\n` +
    `cluster: ${JSON.stringify(cluster, null, 2)}\n` +
    renderAuthorization(spec.users)
  );
}

/** The seed URLs clients are given: every node's client URL, comma-separated (`NATS_URL`). */
export function clusterSeedUrls(spec: Pick<ClusterSpec, "nodes">): string {
  return spec.nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`).join(",");
}
