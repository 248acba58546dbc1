/** `scripts/nats-cluster.sh`: a 3-node cluster started, found again, reported and stopped, as an operator runs it. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { NatsRole } from "../../src/nats/auth.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { loadOrCreateIdentity } from "../../src/nats/identities.ts";
import { runningNodes, stopLocalCluster } from "../../src/nats/local-cluster.ts";

const SCRIPT = join(import.meta.dirname, "../../scripts/nats-cluster.sh");

function script(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(SCRIPT, args, { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr }));
  });
}

describe("scripts/nats-cluster.sh", () => {
  let tmp: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "vw-cluster-script-"));
    dir = join(tmp, "cluster");
    env = { PATH: process.env.PATH, VIBEWRITER_STATE_DIR: join(tmp, "state") };
  });
  afterAll(async () => {
    await stopLocalCluster(dir);
    await rm(tmp, { recursive: true, force: true });
  });

  it("start prints NATS_URL of three seeds and R3; the runtime identity gets in, an anonymous client does not; stop ends every node", async () => {
    const started = await script(["start", dir], env);
    expect(started.code, started.err).toBe(0);
    const url = /^export NATS_URL=(\S+)$/m.exec(started.out)?.[1];
    expect(url?.split(",")).toHaveLength(3);
    expect(started.out).toMatch(/^export VIBEWRITER_NATS_REPLICAS=3$/m);
    expect((await readFile(join(dir, "urls"), "utf8")).trim()).toBe(url);
    expect(started.err).toMatch(/3 nodes in .*JetStream meta leader n[123]/);

    const runtime = await loadOrCreateIdentity(env.VIBEWRITER_STATE_DIR!, NatsRole.Runtime);
    const nc = await connectNats({ url: url!, nkeySeed: runtime.seed });
    expect(nc.info?.cluster).toBe("vibewriter");
    expect((await nc.request("$JS.API.INFO")).json<{ error?: unknown }>().error).toBeUndefined();
    await nc.close();
    await expect(connect({ servers: url!.split(","), reconnect: false })).rejects.toThrow(/Authorization Violation/);

    const again = await script(["start", dir], env);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/already runs/);
    expect(again.out).toContain(`export NATS_URL=${url}`);
    const status = await script(["status", dir], env);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/all 3 nodes up, meta leader n[123]/);

    expect((await script(["stop", dir], env)).code).toBe(0);
    expect(runningNodes(dir)).toEqual([]);
    const down = await script(["status", dir], env);
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/0 of 3 nodes up/);
  });

  it("an unknown command prints the usage and exits 2", async () => {
    const r = await script(["restart"], env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/usage: scripts\/nats-cluster\.sh start\|stop\|status \[DIR\]/);
  });
});
