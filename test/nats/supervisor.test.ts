/**
 * The embedded nats-server under supervision, with real servers: killed, it comes back on the same
 * store and port and writes go on; when it cannot come back the backbone says so and nothing
 * hangs; and a store never gets a second server.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackbone, type Backbone } from "../../src/nats/backbone.ts";
import { NatsErrorCode } from "../../src/nats/errors.ts";
import { publishAcked } from "../../src/nats/publish.ts";
import { natsServerVersion, startNatsServer, type NatsServer } from "../../src/nats/server.ts";
import { serversOnStore } from "../../src/nats/store-processes.ts";
import { Names } from "../../src/nats/streams.ts";
import { processRunning } from "../../src/config/proc-stat.ts";

describe("the embedded nats-server, supervised", () => {
  let dir: string;
  let nats: string;
  const opened: Backbone[] = [];
  const strays: NatsServer[] = [];
  const binBefore = process.env.NATS_SERVER_BIN;
  const serverFile = () => JSON.parse(readFileSync(join(nats, "server.json"), "utf8")) as { pid: number; port: number };
  const open = async (env: NodeJS.ProcessEnv = {}) => {
    const b = await openBackbone({ stateDir: dir, env });
    opened.push(b);
    return b;
  };
  const write = (b: Backbone, i: number) =>
    publishAcked(b.js, `${Names.eventsSubjectPrefix}.supervised.${i}`, new TextEncoder().encode(`event ${i}`), { msgID: `supervised-${i}` });

  beforeAll(() => {
    if (!natsServerVersion()) throw new Error("nats-server is missing: sudo apt-get install nats-server (or set NATS_SERVER_BIN)");
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vibewriter-supervised-"));
    nats = join(dir, "nats");
  });
  afterEach(async () => {
    if (binBefore === undefined) delete process.env.NATS_SERVER_BIN;
    else process.env.NATS_SERVER_BIN = binBefore;
    for (const b of opened.splice(0)) await b.close();
    for (const s of strays.splice(0)) await s.stop();
    for (const p of serversOnStore(nats)) process.kill(p.pid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("a server killed mid-run is restarted on the same store and port; writes go on and every acknowledged one is kept", async () => {
    const b = await open();
    for (let i = 0; i < 10; i++) await write(b, i);
    const before = serverFile();
    process.kill(before.pid, "SIGKILL");
    // These writes meet the dead server: they are retried (same message ids) until it is back.
    for (let i = 10; i < 20; i++) await write(b, i);
    const after = serverFile();
    expect(after.pid).not.toBe(before.pid);
    expect(after.port).toBe(before.port);
    expect(processRunning(after.pid)).toBe(true);
    expect(serversOnStore(nats).map((p) => p.pid)).toEqual([after.pid]);
    const info = await b.jsm.streams.info(Names.eventsStream, { subjects_filter: `${Names.eventsSubjectPrefix}.supervised.>` });
    expect(Object.keys(info.state.subjects ?? {}).length).toBe(20);
    expect(info.state.messages).toBe(20);
    await b.close();
    opened.length = 0;
    expect(processRunning(after.pid)).toBe(false);
  });

  it("a server that cannot be restarted ends the backbone with a clear error, and nothing waits on it", async () => {
    // A nats-server that refuses to start once `broken` exists, as a missing or broken binary would.
    const broken = join(dir, "broken");
    const bin = join(dir, "nats-server-wrapper");
    writeFileSync(bin, `#!/bin/sh\nif [ -e '${broken}' ]; then echo "nats-server: cannot start (test)" >&2; exit 1; fi\nexec nats-server "$@"\n`);
    chmodSync(bin, 0o755);
    process.env.NATS_SERVER_BIN = bin;
    const b = await open({ VIBEWRITER_NATS_RESTART_SEC: "2" });
    await write(b, 0);
    writeFileSync(broken, "");
    process.kill(serverFile().pid, "SIGKILL");
    const pending = write(b, 1);
    await expect(b.lost).rejects.toMatchObject({
      code: NatsErrorCode.ServerLost,
      message: expect.stringMatching(/embedded nats-server \(store .*\) stopped and could not be restarted within 2 s: .*nats-server not found/),
    });
    // The connection is closed, so the write in flight fails instead of retrying for 90 s.
    await expect(pending).rejects.toThrow();
    await b.close();
    opened.length = 0;
    expect(serversOnStore(nats)).toEqual([]);
  });

  it("a nats-server started by hand on the store with Vibewriter's config is joined, not doubled", async () => {
    const first = await open();
    await write(first, 0);
    await first.close();
    opened.length = 0;
    expect(existsSync(join(nats, "server.json"))).toBe(false);
    const hand = await startNatsServer({ storeDir: nats, configFile: join(nats, "nats-server.conf"), detached: true });
    strays.push(hand);
    const b = await open();
    expect(b.server).toBeUndefined();
    expect(serverFile().pid).toBe(hand.pid);
    expect(serversOnStore(nats).map((p) => p.pid)).toEqual([hand.pid]);
    await write(b, 1);
    expect((await b.jsm.streams.info(Names.eventsStream)).state.messages).toBe(2);
  });

  it("a foreign nats-server on the store is refused clearly: never a second server on one store", async () => {
    const stray = await startNatsServer({ storeDir: nats });
    strays.push(stray);
    await expect(open()).rejects.toMatchObject({
      code: NatsErrorCode.ServerLost,
      message: expect.stringContaining(`another nats-server (pid ${stray.pid}) already runs on the store ${nats}`),
    });
    expect(serversOnStore(nats).map((p) => p.pid)).toEqual([stray.pid]);
  });
});
