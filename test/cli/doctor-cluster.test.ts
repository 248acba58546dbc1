import { checkNatsCluster, type ClusterFinding } from "../../src/cli/doctor/cluster.ts";
import { CheckStatus } from "../../src/cli/doctor/index.ts";

const r3 = (name: string, current = true) => ({ name, replicas: 3, leader: "n1", peers: [{ name: "n2", current }, { name: "n3", current: true }] });
const cluster = (more: Partial<ClusterFinding>): ClusterFinding => ({
  cluster: "vibewriter",
  server: "n1",
  serversUp: 3,
  metaLeader: true,
  wanted: 3,
  streams: [r3("VIBEWRITER_STATE"), r3("KV_VIBEWRITER_MEMORY")],
  ...more,
});

describe("doctor: NATS cluster", () => {
  it("a 3-server cluster with every stream R3 and current is ready, and says so", async () => {
    const c = await checkNatsCluster(cluster({}));
    expect(c.status).toBe(CheckStatus.Ready);
    expect(c.detail).toBe("cluster vibewriter: 3 servers up, connected to n1; JetStream meta leader elected; 2 streams, all R3, each with a leader and every replica current");
  });

  it("streams with another count than wanted are named, with the fix", async () => {
    const c = await checkNatsCluster(cluster({ streams: [r3("VIBEWRITER_STATE"), { name: "VIBEWRITER_LEDGER", replicas: 1, peers: [] }] }));
    expect(c.status).toBe(CheckStatus.Degraded);
    expect(c.detail).toMatch(/VIBEWRITER_NATS_REPLICAS=3 but VIBEWRITER_LEDGER R1$/);
    expect(c.fix).toMatch(/nats stream edit <name> --replicas 3/);
  });

  it("R1 on a cluster is degraded: one server's loss loses what it holds", async () => {
    const c = await checkNatsCluster(cluster({ wanted: 1, streams: [{ name: "VIBEWRITER_STATE", replicas: 1, leader: "n2", peers: [] }] }));
    expect(c.status).toBe(CheckStatus.Degraded);
    expect(c.fix).toMatch(/VIBEWRITER_NATS_REPLICAS=3/);
  });

  it("a replica behind (its server down) and a stream without leader are named", async () => {
    const c = await checkNatsCluster(cluster({ serversUp: 2, streams: [r3("VIBEWRITER_STATE", false), { name: "VIBEWRITER_EVENTS", replicas: 3, peers: [] }] }));
    expect(c.status).toBe(CheckStatus.Degraded);
    expect(c.detail).toMatch(/2 servers up/);
    expect(c.detail).toMatch(/VIBEWRITER_STATE behind: n2; VIBEWRITER_EVENTS no leader/);
  });

  it("a single server (the embedded one) is ready; nothing found when NATS did not open", async () => {
    const single = await checkNatsCluster({ server: "solo", serversUp: 0, metaLeader: true, wanted: 1, streams: [{ name: "VIBEWRITER_STATE", replicas: 1, peers: [] }] });
    expect(single.status).toBe(CheckStatus.Ready);
    expect(single.detail).toMatch(/^single server solo \(no cluster\): 1 stream, all R1/);
    expect((await checkNatsCluster(undefined)).status).toBe(CheckStatus.Missing);
  });
});
