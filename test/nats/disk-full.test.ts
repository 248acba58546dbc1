/**
 * The embedded store on a real small filesystem (a tmpfs mounted for the test; needs root): the
 * backbone opens on it, a write that does not fit is "disk full" (not a stall), reading works on a
 * full disk, and nothing acknowledged is lost — also when the disk fills under a running server.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatsRole } from "../../src/nats/auth.ts";
import { openBackbone, type Backbone } from "../../src/nats/backbone.ts";
import { diskSpace } from "../../src/nats/disk-space.ts";
import { NatsErrorCode } from "../../src/nats/errors.ts";
import { publishAcked } from "../../src/nats/publish.ts";
import { natsServerVersion } from "../../src/nats/server.ts";
import { serversOnStore } from "../../src/nats/store-processes.ts";
import { Names } from "../../src/nats/streams.ts";

const CHUNK = new Uint8Array(256 * 1024).fill(7);

/** Fill the filesystem under `dir` with one file until it refuses (ENOSPC). */
function fillDisk(dir: string): string {
  const file = join(dir, "filler");
  const fd = openSync(file, "a");
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  return file;
}

describe("the embedded store on a small, then full, disk", () => {
  let mnt: string;
  let state: string;
  const opened: Backbone[] = [];
  const open = async (role: NatsRole = NatsRole.Runtime) => {
    const b = await openBackbone({ stateDir: state, env: {}, role });
    opened.push(b);
    return b;
  };
  const write = (b: Backbone, i: number) =>
    publishAcked(b.js, `${Names.stateSubjectPrefix}.diskfull.${i}`, CHUNK, { msgID: `diskfull-${i}`, deadlineMs: 30_000 });
  const closeAll = async () => {
    for (const b of opened.splice(0)) await b.close();
  };

  beforeAll(async () => {
    if (!natsServerVersion()) throw new Error("nats-server is missing: sudo apt-get install nats-server (or set NATS_SERVER_BIN)");
    mnt = await mkdtemp(join(tmpdir(), "vibewriter-smalldisk-"));
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mnt], { encoding: "utf8" });
    if (mounted.status !== 0) throw new Error(`this test mounts a small tmpfs and needs root: mount said ${mounted.stderr.trim()}`);
  });
  beforeEach(() => {
    state = join(mnt, `state-${Math.random().toString(36).slice(2)}`);
    mkdirSync(state);
  });
  afterEach(async () => {
    await closeAll();
    for (const p of serversOnStore(join(state, "nats"))) process.kill(p.pid, "SIGKILL");
    rmSync(state, { recursive: true, force: true });
    rmSync(join(mnt, "filler"), { force: true });
  });
  afterAll(async () => {
    spawnSync("umount", [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });

  it("opens on a 48 MiB disk; a write that does not fit is disk_full naming the store; on a full disk reads still work and every acknowledged write is there", async () => {
    const runtime = await open();
    let acked = 0;
    let refusal: unknown;
    for (let i = 0; i < 400; i++) {
      try {
        await write(runtime, i);
        acked += 1;
      } catch (err) {
        refusal = err;
        break;
      }
    }
    expect(acked).toBeGreaterThan(0);
    expect(refusal).toMatchObject({
      code: NatsErrorCode.DiskFull,
      message: expect.stringMatching(new RegExp(`^disk full: .*the NATS store ${join(state, "nats")} \\([\\d.]+ MiB free of [\\d.]+ MiB\\)`)),
    });
    await closeAll();

    // Now something else takes every byte that is left; the next command starts a fresh server.
    fillDisk(mnt);
    expect(diskSpace(mnt).free).toBeLessThan(64 * 1024);
    const viewer = await open(NatsRole.Viewer);
    const info = await viewer.jsm.streams.info(Names.stateStream, { subjects_filter: `${Names.stateSubjectPrefix}.diskfull.>` });
    expect(info.state.messages).toBe(acked);
    const last = await viewer.jsm.streams.getMessage(Names.stateStream, { last_by_subj: `${Names.stateSubjectPrefix}.diskfull.${acked - 1}` });
    expect(last?.data).toEqual(CHUNK);
    // And the runtime, on the same full disk, gets the same clear refusal (after at most the few
    // writes that fit the room given back by the reserve).
    const again = await open();
    let refused: unknown;
    for (let i = acked; i < acked + 20 && !refused; i++) await write(again, i).catch((err: unknown) => (refused = err));
    expect(refused).toMatchObject({ code: NatsErrorCode.DiskFull });
  });

  it("a disk that fills under a running server ends the backbone with disk_full instead of stalling; nothing acknowledged is lost", async () => {
    const b = await open();
    const acked: number[] = [];
    for (let i = 0; i < 4; i++) {
      await write(b, i);
      acked.push(i);
    }
    const filler = fillDisk(mnt);
    let failed: unknown;
    for (let i = 4; i < 400 && !failed; i++) {
      await write(b, i).then(
        () => acked.push(i),
        (err: unknown) => (failed = err),
      );
    }
    expect(failed).toBeDefined();
    // Either JetStream refused the write itself (disk_full) or it stopped and the supervisor said so.
    const reason = NatsErrorCode.DiskFull === (failed as { code?: string }).code ? failed : await b.lost.catch((e: unknown) => e);
    expect(reason).toMatchObject({ code: NatsErrorCode.DiskFull, message: expect.stringMatching(/^disk full: /) });
    await closeAll();

    rmSync(filler);
    const reader = await open(NatsRole.Viewer);
    for (const i of acked) {
      const m = await reader.jsm.streams.getMessage(Names.stateStream, { last_by_subj: `${Names.stateSubjectPrefix}.diskfull.${i}` });
      expect(m?.data.length).toBe(CHUNK.length);
    }
  });
});
