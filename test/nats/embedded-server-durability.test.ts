import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderAuthorization, NatsRole, type NatsUser } from "../../src/nats/auth.ts";
import { openBackbone } from "../../src/nats/backbone.ts";
import { embeddedDurability, renderServerConfig, SERVER_CONFIG_FILE } from "../../src/nats/embedded-server.ts";
import { embeddedUsers } from "../../src/nats/identities.ts";
import { natsServerVersion, startNatsServer, supportsSyncAlways, versionAtLeast } from "../../src/nats/server.ts";
import { createOwnerKey } from "../../src/wallet/owner-key.ts";

const USERS: NatsUser[] = [{ role: NatsRole.Runtime, nkey: "UAUGSQZ6CMU25XLNPOWJVFPJMNE2ULZHORI2V24OUU3OZVDOHUJEFMM5" }];

describe("embedded server config by nats-server version", () => {
  it("sync_interval: always exactly from 2.10; unknown or unparseable versions get none", () => {
    for (const v of ["2.9.10", "2.9.99", "v2.9.25", "1.4.1"]) expect([v, supportsSyncAlways(v)]).toEqual([v, false]);
    for (const v of ["2.10.0", "2.10.27", "v2.10.27", "2.12.1", "3.0.0"]) expect([v, supportsSyncAlways(v)]).toEqual([v, true]);
    expect(supportsSyncAlways(undefined)).toBe(false);
    expect(supportsSyncAlways("garbage")).toBe(false);
    expect(versionAtLeast("2.10.27", "2.9.10")).toBe(true);
    expect(versionAtLeast("2.9.10", "2.10.0")).toBe(false);
  });

  it("without sync the file is byte for byte what 2.9 has always been given; with it, the key sits in the jetstream block", () => {
    const dir = "/var/lib/vibe \"quoted\"/nats";
    const plain = renderServerConfig(dir, USERS, false);
    expect(plain).toBe(`jetstream: ${JSON.stringify({ store_dir: dir })}\n${renderAuthorization(USERS)}`);
    expect(plain).not.toContain("sync");
    const synced = renderServerConfig(dir, USERS, true);
    expect(synced.split("\n")[0]).toBe(`jetstream: {"store_dir":${JSON.stringify(dir)},"sync_interval":"always"}`);
    expect(synced.slice(synced.indexOf("\n"))).toBe(plain.slice(plain.indexOf("\n")));
  });
});

describe("the installed nats-server with the embedded server's config", () => {
  let dir: string;
  let version: string;
  beforeAll(() => {
    const v = natsServerVersion();
    if (!v) throw new Error("nats-server is missing: sudo apt-get install nats-server (or set NATS_SERVER_BIN)");
    version = v;
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vibewriter-durability-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts sync_interval: always only when its version says so (2.9 refuses to start on the key)", async () => {
    const configFile = join(dir, "sync.conf");
    await writeFile(configFile, renderServerConfig(dir, USERS, true));
    // `-t`: check the configuration and exit, with the server's own verdict.
    const checked = spawnSync(process.env.NATS_SERVER_BIN ?? "nats-server", ["-t", "-c", configFile], { encoding: "utf8" });
    const start = startNatsServer({ storeDir: dir, configFile });
    if (supportsSyncAlways(version)) {
      expect(checked.status).toBe(0);
      const server = await start;
      await server.stop();
    } else {
      expect(checked.status).toBe(1);
      expect(checked.stdout + checked.stderr).toMatch(/unknown field "sync_interval"/);
      await expect(start).rejects.toThrow(/exited before it was ready/);
    }
  });

  it("starts with the setting its version supports, records it, and keeps it when a reload lets a new identity in", async () => {
    const expected = supportsSyncAlways(version);
    const first = await openBackbone({ stateDir: dir, env: {} });
    const pid = first.server!.pid;
    let second: Awaited<ReturnType<typeof openBackbone>> | undefined;
    try {
      const nats = join(dir, "nats");
      const info = JSON.parse(readFileSync(join(nats, "server.json"), "utf8")) as Record<string, unknown>;
      expect(info).toMatchObject({ version, syncAlways: expected });
      expect(await embeddedDurability(nats)).toEqual({ version, syncAlways: expected });
      // max_file_store: fixed when the server starts (disk-space.ts), recorded, kept across reloads.
      expect(info.maxFileStore).toEqual(expect.any(Number));
      const maxStore = info.maxFileStore as number;
      expect(readFileSync(join(nats, SERVER_CONFIG_FILE), "utf8")).toBe(renderServerConfig(nats, await embeddedUsers(dir), expected, maxStore));

      // The owner's key appears: the next process reloads the running server to let it in. A
      // reload that changed the sync setting would fail (and restart the server); it must not.
      await createOwnerKey(dir, { VIBEWRITER_OWNER_PASSPHRASE: "durability test passphrase" });
      const users = await embeddedUsers(dir);
      expect(users.map((u) => u.role)).toContain(NatsRole.Owner);
      second = await openBackbone({ stateDir: dir, env: {} });
      expect(second.server).toBeUndefined();
      expect((JSON.parse(readFileSync(join(nats, "server.json"), "utf8")) as { pid: number }).pid).toBe(pid);
      expect(readFileSync(join(nats, SERVER_CONFIG_FILE), "utf8")).toBe(renderServerConfig(nats, users, expected, maxStore));
      const log = readFileSync(join(nats, "nats-server.log"), "utf8");
      expect(log).toContain("Reloaded server configuration");
      expect(log).not.toContain("Failed to reload");
      await second.artifacts.put("sources/after-reload", "still writable");
    } finally {
      await second?.close();
      await first.close();
    }
  });

  it("a server started before the setting was recorded is joined as it runs: no sync key, no reload", async () => {
    const first = await openBackbone({ stateDir: dir, env: {} });
    const nats = join(dir, "nats");
    try {
      // What an older Vibewriter wrote: no version, no syncAlways, and a config without the key.
      const info = JSON.parse(readFileSync(join(nats, "server.json"), "utf8")) as Record<string, unknown>;
      delete info.version;
      delete info.syncAlways;
      writeFileSync(join(nats, "server.json"), JSON.stringify(info));
      if (supportsSyncAlways(version)) {
        // A 2.10 server running with the older config: rewrite it as that server was started.
        // (Only the file: this test cannot restart the server, so it checks the joiner's rendering.)
        writeFileSync(join(nats, SERVER_CONFIG_FILE), renderServerConfig(nats, await embeddedUsers(dir), false));
      }
      const before = readFileSync(join(nats, SERVER_CONFIG_FILE), "utf8");
      const logBefore = readFileSync(join(nats, "nats-server.log"), "utf8");
      const second = await openBackbone({ stateDir: dir, env: {} });
      expect(second.server).toBeUndefined();
      expect(readFileSync(join(nats, SERVER_CONFIG_FILE), "utf8")).toBe(before);
      expect(readFileSync(join(nats, "nats-server.log"), "utf8")).toBe(logBefore);
      expect(await embeddedDurability(nats)).toEqual({ syncAlways: false });
      await second.close();
    } finally {
      await first.close();
    }
  });
});
