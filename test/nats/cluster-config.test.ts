import { clusterSeedUrls, renderClusterNodeConfig, type ClusterSpec } from "../../src/nats/cluster-config.ts";
import { NatsRole } from "../../src/nats/auth.ts";

const spec = (syncAlways: boolean): ClusterSpec => ({
  name: "vibewriter",
  routeUser: "route",
  routePassword: "p@ss/word",
  syncAlways,
  users: [
    { role: NatsRole.Runtime, nkey: "UABCRUNTIME" },
    { role: NatsRole.Viewer, nkey: "UABCVIEWER" },
  ],
  nodes: [1, 2, 3].map((i) => ({ name: `n${i}`, clientPort: 4221 + i, clusterPort: 6221 + i, httpPort: 8221 + i, storeDir: `/c/n${i}`, pidFile: `/c/n${i}/nats-server.pid` })),
});

describe("a cluster node's nats-server config", () => {
  it("names the node, keeps its own store, routes to the other two with the route password, and admits the identities only", () => {
    const conf = renderClusterNodeConfig(spec(false), 1);
    expect(conf).toContain('server_name: "n2"');
    expect(conf).toContain('listen: "127.0.0.1:4223"');
    expect(conf).toContain('jetstream: {"store_dir":"/c/n2"}');
    const cluster = JSON.parse(/cluster: (\{[\s\S]*?\n\})/.exec(conf)![1]!) as { name: string; listen: string; routes: string[]; authorization: { user: string } };
    expect(cluster.name).toBe("vibewriter");
    expect(cluster.listen).toBe("127.0.0.1:6223");
    expect(cluster.routes).toEqual(["nats-route://route:p%40ss%2Fword@127.0.0.1:6222", "nats-route://route:p%40ss%2Fword@127.0.0.1:6224"]);
    expect(conf).toMatch(/authorization: \{\s+"users": \[/);
    expect(conf).toContain('"nkey": "UABCRUNTIME"');
    expect(conf).toContain('"nkey": "UABCVIEWER"');
  });

  it("syncs each write only when the binary can (2.10+: 2.9 refuses the key)", () => {
    expect(renderClusterNodeConfig(spec(true), 0)).toContain('"sync_interval":"always"');
    expect(renderClusterNodeConfig(spec(false), 0)).not.toContain("sync_interval");
  });

  it("gives clients every node as a seed", () => {
    expect(clusterSeedUrls(spec(false))).toBe("nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224");
  });
});
