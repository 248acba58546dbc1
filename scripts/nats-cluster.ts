/**
 * `scripts/nats-cluster.sh start|stop|status [DIR]`: a real 3-node nats-server cluster on loopback
 * for Vibewriter (routes, JetStream with a store per node, the installation's identities as
 * `vibewriter nats config` prints them). DIR defaults to `<state dir>/nats-cluster`.
 *
 * `start` prints, on stdout, the environment that points Vibewriter at it (so
 * `eval "$(scripts/nats-cluster.sh start)"` works); people-facing lines go to stderr.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stateDir } from "../src/config/paths.ts";
import { NatsRole } from "../src/nats/auth.ts";
import { clusterSeedUrls } from "../src/nats/cluster-config.ts";
import { connectNats } from "../src/nats/connection.ts";
import { embeddedUsers, loadOrCreateIdentity } from "../src/nats/identities.ts";
import { metaGroupOf, readClusterSpec, runningNodes, startLocalCluster, stopLocalCluster, waitForJetStream } from "../src/nats/local-cluster.ts";
import { REPLICAS_ENV } from "../src/nats/replicas.ts";

const USAGE = "usage: scripts/nats-cluster.sh start|stop|status [DIR]   (DIR: <state dir>/nats-cluster)";
/** Preferred ports: clients 4222–4224, routes 6222–6224, monitoring 8222–8224 (free ports when taken). */
const BASE_PORTS = { client: 4222, cluster: 6222, http: 8222 };

async function main(argv: string[]): Promise<number> {
  const [command, dirArg] = argv;
  const state = stateDir(process.env);
  const dir = dirArg ?? join(state, "nats-cluster");
  switch (command) {
    case "start":
      return start(state, dir);
    case "stop": {
      const stopped = await stopLocalCluster(dir);
      process.stderr.write(stopped.length ? `stopped ${stopped.join(", ")} (stores kept in ${dir})\n` : `no node of a cluster in ${dir} is running\n`);
      return 0;
    }
    case "status":
      return status(dir);
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

async function start(state: string, dir: string): Promise<number> {
  const running = runningNodes(dir);
  const spec = readClusterSpec(dir);
  if (spec && running.length === spec.nodes.length) {
    process.stderr.write(`cluster ${spec.name} already runs in ${dir} (${running.map((n) => `${n.name} pid ${n.pid}`).join(", ")})\n`);
    printEnv(clusterSeedUrls(spec));
    return 0;
  }
  if (running.length > 0) {
    process.stderr.write(`some nodes of ${dir} run (${running.map((n) => n.name).join(", ")}): stopping them to start the cluster whole\n`);
    await stopLocalCluster(dir);
  }
  // The identities `vibewriter nats config` prints (created on first use, as the embedded server does).
  const users = await embeddedUsers(state);
  const cluster = await startLocalCluster({ dir, users, basePorts: BASE_PORTS, detached: true });
  const runtime = await loadOrCreateIdentity(state, NatsRole.Runtime);
  const nc = await connectNats({ url: cluster.urls, name: "nats-cluster-script", nkeySeed: runtime.seed });
  try {
    const leader = await waitForJetStream(nc, cluster.nodes, 60_000);
    await writeFile(join(dir, "urls"), cluster.urls + "\n");
    process.stderr.write(
      `cluster ${cluster.name}: ${cluster.nodes.length} nodes in ${dir}, JetStream meta leader ${leader}\n` +
        cluster.nodes.map((n) => `  ${n.name}  ${n.url}  monitoring ${n.httpUrl}  pid ${n.server.pid}\n`).join("") +
        `identities admitted: ${users.map((u) => u.role).join(", ")}${users.some((u) => u.role === NatsRole.Owner) ? "" : " (no owner key yet: `vibewriter owner init`, then start again)"}\n`,
    );
    printEnv(cluster.urls);
    return 0;
  } catch (err) {
    await cluster.stop().catch(() => {});
    throw err;
  } finally {
    await nc.close().catch(() => {});
  }
}

function printEnv(urls: string): void {
  process.stdout.write(`export NATS_URL=${urls}\nexport ${REPLICAS_ENV}=3\n`);
}

async function status(dir: string): Promise<number> {
  const spec = readClusterSpec(dir);
  if (!spec) {
    process.stderr.write(`no cluster in ${dir} (scripts/nats-cluster.sh start)\n`);
    return 1;
  }
  const running = new Map(runningNodes(dir).map((n) => [n.name, n.pid]));
  let leader: string | undefined;
  for (const n of spec.nodes) {
    const pid = running.get(n.name);
    const meta = pid ? await metaGroupOf(`http://127.0.0.1:${n.httpPort}`) : undefined;
    leader ??= meta?.leader;
    process.stdout.write(`${n.name}  nats://127.0.0.1:${n.clientPort}  ${pid ? `up (pid ${pid})` : "down"}${meta ? `  meta leader ${meta.leader ?? "none"}` : ""}\n`);
  }
  process.stdout.write(`NATS_URL=${clusterSeedUrls(spec)}\n`);
  const up = running.size === spec.nodes.length && leader !== undefined;
  process.stdout.write(up ? `cluster ${spec.name}: all ${spec.nodes.length} nodes up, meta leader ${leader}\n` : `cluster ${spec.name}: ${running.size} of ${spec.nodes.length} nodes up${leader ? `, meta leader ${leader}` : ", no meta leader"}\n`);
  return up ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`nats-cluster: ${err.message}\n`);
    process.exit(1);
  },
);
