import type { ServerInfo } from "@nats-io/transport-node";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { assertReplicasFit, replicaMismatches, replicasFromEnv, tooFewServers } from "../../src/nats/replicas.ts";

const single = { server_name: "solo", connect_urls: [] } as unknown as ServerInfo;
const cluster = (up: number) => ({ server_name: "n1", cluster: "vibewriter", connect_urls: Array.from({ length: up }, (_, i) => `127.0.0.1:${4222 + i}`) }) as unknown as ServerInfo;

describe("replica counts", () => {
  it("VIBEWRITER_NATS_REPLICAS: unset, 1 to 5, or a clear error", () => {
    expect(replicasFromEnv({})).toBeUndefined();
    expect(replicasFromEnv({ VIBEWRITER_NATS_REPLICAS: " 3 " })).toBe(3);
    for (const bad of ["0", "6", "2.5", "three"]) {
      expect(() => replicasFromEnv({ VIBEWRITER_NATS_REPLICAS: bad })).toThrow(new RegExp(`1 to 5.*not "${bad}"`));
    }
  });

  it("R3 on a single server is refused before anything is created; R1 anywhere is fine", () => {
    expect(() => assertReplicasFit(single, 3)).toThrow(/needs a NATS cluster, but solo is a single server/);
    expect(() => assertReplicasFit(single, 1)).not.toThrow();
    expect(() => assertReplicasFit(cluster(3), 3)).not.toThrow();
  });

  it("a creation refused while fewer servers are up than replicas is told as too few servers, not a full disk", () => {
    const err = tooFewServers(cluster(2), 3, new Error("insufficient resources"));
    expect(NatsBackboneError.isInstance(err, NatsErrorCode.InvalidArgument)).toBe(true);
    expect(err!.message).toMatch(/cluster vibewriter has 2 servers up/);
    expect(tooFewServers(cluster(3), 3, new Error("insufficient resources"))).toBeUndefined();
  });

  it("mismatches are the streams with another count", () => {
    const streams = [{ name: "A", replicas: 3, peers: [] }, { name: "B", replicas: 1, peers: [] }];
    expect(replicaMismatches(streams, 3).map((s) => s.name)).toEqual(["B"]);
  });
});
