import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { NatsRole, type NatsUser } from "../../src/nats/auth.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { embeddedUsers, loadOrCreateIdentity, type NatsIdentity } from "../../src/nats/identities.ts";
import { startLocalCluster, waitForJetStream, type LocalCluster, type LocalClusterNode } from "../../src/nats/local-cluster.ts";

export interface TestCluster {
  cluster: LocalCluster;
  /** `NATS_URL`: the three seed URLs, comma-separated. */
  urls: string;
  /** A state directory holding the runtime and viewer identities the cluster admits. */
  stateDir: string;
  runtime: NatsIdentity;
  viewer: NatsIdentity;
  /** A connection as `role` through every seed (closed by `close()`). */
  connect(role?: typeof NatsRole.Runtime | typeof NatsRole.Viewer, name?: string): Promise<NatsConnection>;
  /** Wait for a meta leader every running node agrees on (polled: `$JS.API.INFO`, then `/jsz`); its name. */
  waitForJetStream(): Promise<string>;
  node(name: string): LocalClusterNode;
  /** SIGKILL one node. */
  kill(name: string): Promise<void>;
  /** Start a killed node again on its ports and store; resolves once JetStream has a leader again. */
  restart(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real 3-node nats-server cluster on free loopback ports with temporary stores and the
 * installation identities of a temporary state directory (authorization as `vibewriter nats
 * config` renders it). Resolves once JetStream has a meta leader. Fails loudly when nats-server is
 * not installed.
 */
export async function startTestCluster(opts: { extraUsers?: NatsUser[] } = {}): Promise<TestCluster> {
  const stateDir = await mkdtemp(join(tmpdir(), "vw-cluster-"));
  const runtime = await loadOrCreateIdentity(stateDir, NatsRole.Runtime);
  const viewer = await loadOrCreateIdentity(stateDir, NatsRole.Viewer);
  const connections: NatsConnection[] = [];
  const down = new Set<string>();
  let cluster: LocalCluster | undefined;
  const close = async () => {
    for (const nc of connections) await nc.close().catch(() => {});
    await cluster?.stop();
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    cluster = await startLocalCluster({ dir: join(stateDir, "cluster"), users: [...(await embeddedUsers(stateDir)), ...(opts.extraUsers ?? [])] });
    const c = cluster;
    const connect = async (role: typeof NatsRole.Runtime | typeof NatsRole.Viewer = NatsRole.Runtime, name = `test-${role}`) => {
      const nc = await connectNats({ url: c.urls, name, nkeySeed: (role === NatsRole.Runtime ? runtime : viewer).seed });
      connections.push(nc);
      return nc;
    };
    const probe = await connect(NatsRole.Runtime, "test-cluster-probe");
    const waitUp = () => waitForJetStream(probe, c.nodes.filter((n) => !down.has(n.name)));
    await waitUp();
    return {
      cluster: c,
      urls: c.urls,
      stateDir,
      runtime,
      viewer,
      connect,
      waitForJetStream: waitUp,
      node: (name) => c.node(name),
      async kill(name) {
        down.add(name);
        await c.node(name).server.kill();
      },
      async restart(name) {
        await c.node(name).server.restart();
        down.delete(name);
        await waitUp();
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
