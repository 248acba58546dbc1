import { mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackbone } from "../../src/nats/backbone.ts";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { startNatsServer } from "../../src/nats/server.ts";
import { Names } from "../../src/nats/streams.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("openBackbone", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vibewriter-state-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("without NATS_URL starts an embedded server under the state dir, reused by a second process, stopped on close", async () => {
    const first = await openBackbone({ stateDir: dir, env: {} });
    const server = first.server!;
    try {
      expect(server).toBeDefined();
      expect(server.storeDir).toBe(join(dir, "nats"));
      expect(existsSync(join(dir, "nats", "server.json"))).toBe(true);
      const second = await openBackbone({ stateDir: dir, env: {} });
      expect(second.server).toBeUndefined();
      expect(second.nc.getServer()).toContain(String(server.port));
      await second.artifacts.put("sources/x", "shared");
      await second.close();
      // The owner's server is still up after the other process left.
      expect(new TextDecoder().decode(await first.artifacts.getBytes("sources/x"))).toBe("shared");
    } finally {
      await first.close();
    }
    expect(alive(server.pid)).toBe(false);
    expect(existsSync(join(dir, "nats", "server.json"))).toBe(false);
    // Data survives: a new embedded server on the same state dir sees it.
    const again = await openBackbone({ stateDir: dir, env: {} });
    try {
      expect(new TextDecoder().decode(await again.artifacts.getBytes("sources/x"))).toBe("shared");
    } finally {
      await again.close();
    }
  });

  it("two processes opening at once share one embedded server", async () => {
    const [a, b] = await Promise.all([openBackbone({ stateDir: dir, env: {} }), openBackbone({ stateDir: dir, env: {} })]);
    const owner = a.server ?? b.server;
    try {
      expect([a.server, b.server].filter(Boolean).length).toBe(1);
      expect(a.nc.getServer()).toBe(b.nc.getServer());
      expect(existsSync(join(dir, "nats", "server.lock"))).toBe(false);
    } finally {
      await (a.server ? b : a).close();
      await (a.server ? a : b).close();
    }
    expect(alive(owner!.pid)).toBe(false);
  });

  it("with NATS_URL and credentials connects to that server; a bad password is a clear error without the secret", async () => {
    const server = await startNatsServer({ extraArgs: ["--user", "vw", "--pass", "s3cret-pass"] });
    try {
      const env = { NATS_URL: server.url, NATS_USER: "vw", NATS_PASSWORD: "s3cret-pass" };
      const b = await openBackbone({ env });
      expect(b.server).toBeUndefined();
      const names: string[] = [];
      for await (const s of b.jsm.streams.names()) names.push(s);
      expect(names).toContain(Names.stateStream);
      await b.close();
      const err = await openBackbone({ env: { ...env, NATS_PASSWORD: "wrong-pass-value" } }).catch((e: unknown) => e);
      expect(NatsBackboneError.isInstance(err, NatsErrorCode.Connect)).toBe(true);
      expect(String((err as Error).message)).not.toContain("wrong-pass-value");
      const withUserInUrl = await openBackbone({ natsUrl: server.url.replace("nats://", "nats://vw:nope-secret@"), env: {} }).catch((e: unknown) => e);
      expect(String((withUserInUrl as Error).message)).not.toContain("nope-secret");
    } finally {
      await server.stop();
    }
  });
});
