/**
 * The doctor's look at NATS as a cluster: how many servers are up, whether JetStream has a meta
 * leader, and each Vibewriter stream's replicas against `VIBEWRITER_NATS_REPLICAS` (with its leader
 * and whether every replica is current). Not required: a single server works, it only loses more
 * when it fails.
 */
import { type Backbone, replicaMismatches, REPLICAS_ENV, type StreamReplicas, vibewriterStreams } from "../../nats/index.ts";
import { guard, CheckStatus, type CheckResult } from "./check.ts";

export interface ClusterFinding {
  /** The cluster's name; undefined on a single server. */
  cluster?: string;
  /** `server_name` of the server this process is connected to. */
  server: string;
  /** Servers up now (the client URLs the cluster advertises); 0 when the operator hides them. */
  serversUp: number;
  /** JetStream answered its API, which on a cluster it does only with an elected meta leader. */
  metaLeader: boolean;
  /** Replicas asked for (`Backbone.replicas`). */
  wanted: number;
  streams: StreamReplicas[];
}

/** What the backbone's connection and JetStream say (the backbone is open: JetStream answered). */
export async function probeCluster(backbone: Pick<Backbone, "nc" | "jsm" | "replicas">): Promise<ClusterFinding> {
  const info = backbone.nc.info;
  const metaLeader = await backbone.jsm.getAccountInfo().then(() => true, () => false);
  return {
    ...(info?.cluster ? { cluster: info.cluster } : {}),
    server: info?.server_name ?? "unknown",
    serversUp: info?.connect_urls?.length ?? 0,
    metaLeader,
    wanted: backbone.replicas,
    streams: await vibewriterStreams(backbone.jsm),
  };
}

export function checkNatsCluster(found: ClusterFinding | undefined): Promise<CheckResult> {
  return guard({ id: "nats-cluster", title: "NATS cluster", required: false }, async () => {
    if (!found) return { status: CheckStatus.Missing, detail: "not checked: NATS did not open (see NATS JetStream)" };
    const byCount = summarizeReplicas(found.streams);
    if (!found.cluster) {
      return { status: CheckStatus.Ready, detail: `single server ${found.server} (no cluster): ${byCount}; while it is down, Vibewriter waits for it` };
    }
    const where = `cluster ${found.cluster}: ${found.serversUp > 0 ? `${found.serversUp} servers up` : "servers not advertised"}, connected to ${found.server}; JetStream meta leader ${found.metaLeader ? "elected" : "NONE (is a majority of the servers up?)"}`;
    const wrong = replicaMismatches(found.streams, found.wanted);
    if (wrong.length > 0) {
      return {
        status: CheckStatus.Degraded,
        detail: `${where}; ${REPLICAS_ENV}=${found.wanted} but ${wrong.map((s) => `${s.name} R${s.replicas}`).join(", ")}`,
        fix: `Set ${REPLICAS_ENV} to what the streams have, or have the operator rescale them (\`nats stream edit <name> --replicas ${found.wanted}\`).`,
      };
    }
    if (found.wanted === 1) {
      return {
        status: CheckStatus.Degraded,
        detail: `${where}; ${byCount}: one copy of each, on one server; losing that server loses what it holds`,
        fix: `Set ${REPLICAS_ENV}=3 before the streams are first created (an existing R1 stream is rescaled by the operator: \`nats stream edit <name> --replicas 3\`).`,
      };
    }
    const lagging = found.streams.filter((s) => !s.leader || s.peers.some((p) => !p.current));
    if (!found.metaLeader || lagging.length > 0) {
      return {
        status: CheckStatus.Degraded,
        detail: `${where}; ${byCount}; ${lagging.map((s) => `${s.name} ${s.leader ? `behind: ${s.peers.filter((p) => !p.current).map((p) => p.name).join(", ")}` : "no leader"}`).join("; ")}`,
        fix: "Start the servers that are down; a replica that is behind catches up by itself once its server is back.",
      };
    }
    return { status: CheckStatus.Ready, detail: `${where}; ${byCount}, each with a leader and every replica current` };
  });
}

/** "11 streams, all R3" or "11 streams: 9 R3, 2 R1". */
function summarizeReplicas(streams: readonly StreamReplicas[]): string {
  if (streams.length === 0) return "no Vibewriter stream yet";
  const counts = new Map<number, number>();
  for (const s of streams) counts.set(s.replicas, (counts.get(s.replicas) ?? 0) + 1);
  const total = `${streams.length} stream${streams.length === 1 ? "" : "s"}`;
  if (counts.size === 1) return `${total}, all R${streams[0]!.replicas}`;
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n} R${r}`);
  return `${total}: ${parts.join(", ")}`;
}
