import { deadPort } from "../support/dead-port.ts";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { natsServerVersion } from "../../src/nats/index.ts";
import { type NatsServer, startNatsServer, supportsSyncAlways } from "../../src/nats/server.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";
import { kvStreamName, Names, objectStoreStreamName } from "../../src/nats/streams.ts";

function natsCheck(json: string) {
  const report = JSON.parse(json) as { ok: boolean; checks: { id: string; status: string; detail: string; fix?: string }[] };
  return { report, nats: report.checks.find((c) => c.id === "nats")! };
}

describe("vibewriter doctor", () => {
  let server: NatsServer;
  let stateDir: string;
  beforeAll(async () => {
    server = await startNatsServer(); // fails with an install hint when nats-server is missing
    stateDir = await mkdtemp(join(tmpdir(), "vw-doctor-"));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("with NATS_URL to an open server: connects, creates the streams and buckets, and says the server accepts anyone", async () => {
    const io = captureIo({ PATH: process.env.PATH, NATS_URL: server.url, VIBEWRITER_STATE_DIR: stateDir });
    const code = await main(["doctor", "--json"], io);
    const { report, nats } = natsCheck(io.out());
    // An open server works, but is never called ready without saying so.
    expect(nats.status).toBe("degraded");
    expect(nats.detail).toMatch(/auth none: the server ACCEPTS ANONYMOUS CLIENTS/);
    expect(nats.fix).toMatch(/vibewriter nats config/);
    expect(nats.detail).toContain(server.url);
    expect(nats.detail).toMatch(/server v2\.\d+\.\d+/);
    // Durability is the operator's: reported with the server's version from its INFO, never "ready".
    const durability = report.checks.find((c) => c.id === "nats-durability")!;
    expect(durability).toMatchObject({ status: "degraded", required: false });
    expect(durability.detail).toContain(`NATS_URL, nats-server ${natsServerVersion()}`);
    // The exit code follows the report: 0 exactly when every required check is ready.
    expect(code).toBe(report.ok ? 0 : 1);

    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const s of jsm.streams.list()) names.push(s.config.name);
      expect(names.sort()).toEqual([
        kvStreamName(Names.choirReportsBucket),
        kvStreamName(Names.mandatesBucket),
        kvStreamName(Names.memoryBucket),
        kvStreamName(Names.paymentsBucket),
        objectStoreStreamName(Names.choirBodiesBucket),
        objectStoreStreamName(Names.filesBucket),
        Names.choirStream,
        Names.eventsStream,
        Names.ledgerStream,
        Names.stateStream,
      ].sort());
    } finally {
      await nc.close();
    }
  });

  it("is idempotent: a second run finds the same streams and says the same", async () => {
    const io = captureIo({ PATH: process.env.PATH, NATS_URL: server.url, VIBEWRITER_STATE_DIR: stateDir });
    await main(["doctor", "--json"], io);
    expect(natsCheck(io.out()).nats.status).toBe("degraded");
  });

  it("with NATS_URL to a server that requires a password: ready, anonymous clients refused", async () => {
    const locked = await startNatsServer({ extraArgs: ["--user", "vw", "--pass", "doctor-pass-1"] });
    try {
      const io = captureIo({ PATH: process.env.PATH, NATS_URL: locked.url, NATS_USER: "vw", NATS_PASSWORD: "doctor-pass-1", VIBEWRITER_STATE_DIR: stateDir });
      await main(["doctor", "--json"], io);
      const { nats } = natsCheck(io.out());
      expect(nats.status).toBe("ready");
      expect(nats.detail).toMatch(/auth user, anonymous clients refused/);
      expect(io.out()).not.toContain("doctor-pass-1");
    } finally {
      await locked.stop();
    }
  });

  it("with an unreachable NATS_URL: NATS is missing, the fix names NATS_URL, exit 1", async () => {
    const url = `nats://127.0.0.1:${await deadPort()}`;
    const io = captureIo({ PATH: process.env.PATH, NATS_URL: url, VIBEWRITER_STATE_DIR: stateDir });
    const code = await main(["doctor", "--json"], io);
    const { report, nats } = natsCheck(io.out());
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(nats.status).toBe("missing");
    expect(nats.fix).toMatch(/NATS_URL/);
  });

  it("without NATS_URL: starts the embedded server in the state dir and stops it on exit", async () => {
    const io = captureIo({ PATH: process.env.PATH, VIBEWRITER_STATE_DIR: stateDir });
    await main(["doctor"], io);
    expect(io.out()).toMatch(/\[ok {2}\] NATS JetStream\s+embedded nats:\/\/127\.0\.0\.1:\d+, server v2\.\d+\.\d+; auth nkey, anonymous clients refused/);
    expect(io.out()).toMatch(/\[ok {2}\] Node\.js/);
    // Durability: what the installed nats-server can do, as the embedded server was started.
    const version = natsServerVersion()!;
    const line = io.out().split("\n").find((l) => l.includes("NATS durability"))!;
    expect(line.replace(/\s+/g, " ").trim()).toBe(
      supportsSyncAlways(version)
        ? `[ok ] NATS durability writes fsynced before each acknowledgement (nats-server ${version}, sync_interval: always)`
        : `[slow] NATS durability fsync every 2 min (nats-server ${version}): a power loss can drop the last acknowledged writes; nats-server ≥ 2.10 syncs each write`,
    );
    // The store lives under the state dir; the server's pid file is gone once it has stopped.
    expect((await stat(join(stateDir, "nats", "jetstream"))).isDirectory()).toBe(true);
    await expect(stat(join(stateDir, "nats", "server.json"))).rejects.toThrow(/ENOENT/);
  });

  it("never prints a configured secret", async () => {
    const secret = "sk-ant-very-secret-value-42";
    const io = captureIo({ PATH: process.env.PATH, NATS_URL: server.url, VIBEWRITER_STATE_DIR: stateDir, ANTHROPIC_API_KEY: secret, VIBEWRITER_WALLET_PASSPHRASE: "hunter2hunter2" });
    await main(["doctor"], io);
    expect(io.out()).toMatch(/\[ok {2}\] Model\s+anthropic/);
    expect(io.out() + io.err()).not.toContain(secret);
    expect(io.out() + io.err()).not.toContain("hunter2hunter2");
  });
});
