/**
 * The CLI's reading commands on a full disk: the state directory (embedded nats-server store,
 * identities, ledger anchor) on a real small tmpfs (mounted for the test; needs root) filled to the
 * last byte. `threads`, `show`, `events` and `ledger verify` still answer; `doctor` says DISK FULL.
 */
import { spawnSync } from "node:child_process";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { provisionLayout } from "../../src/app/backbone.ts";
import { loadTrust, runtimeLedger } from "../../src/app/trust.ts";
import { openBackbone } from "../../src/nats/backbone.ts";
import { diskSpace } from "../../src/nats/disk-space.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { natsServerVersion } from "../../src/nats/server.ts";
import { serversOnStore } from "../../src/nats/store-processes.ts";
import { AuditLedger } from "../../src/wallet/ledger.ts";
import { captureIo } from "./capture.ts";

const THREAD = "full-disk-thread";

describe("reading commands on a full disk", () => {
  let mnt: string;
  let state: string;
  const env = () => ({ PATH: process.env.PATH, VIBEWRITER_STATE_DIR: state });

  beforeAll(async () => {
    if (!natsServerVersion()) throw new Error("nats-server is missing: sudo apt-get install nats-server (or set NATS_SERVER_BIN)");
    mnt = await mkdtemp(join(tmpdir(), "vibewriter-fullcli-"));
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=40m,mode=0700", "tmpfs", mnt], { encoding: "utf8" });
    if (mounted.status !== 0) throw new Error(`this test mounts a small tmpfs and needs root: mount said ${mounted.stderr.trim()}`);
    state = join(mnt, "state");

    // A thread and a ledger entry, written while there is room.
    const b = await openBackbone({ stateDir: state, env: {}, provision: provisionLayout });
    await b.events.publish(THREAD, { type: EventType.RunStarted, data: { task: "Due diligence on a full disk" } });
    await b.events.publish(THREAD, { type: EventType.RunFinished, data: { status: "completed" } });
    const ledger = await AuditLedger.open(b, await runtimeLedger(env(), await loadTrust(env())));
    await ledger.append("proposal", "p-1", { amount: "5", destination: "GABC" });
    await b.close();

    // Then something else takes every byte left.
    const fd = openSync(join(mnt, "filler"), "a");
    try {
      for (const block = Buffer.alloc(64 * 1024, 1); ; ) writeSync(fd, block);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
    } finally {
      closeSync(fd);
    }
  });
  afterAll(async () => {
    for (const p of serversOnStore(join(state, "nats"))) process.kill(p.pid, "SIGKILL");
    rmSync(join(mnt, "filler"), { force: true });
    spawnSync("umount", [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });

  it("threads, show, events and ledger verify answer; doctor names the full disk", async () => {
    expect(diskSpace(mnt).free).toBeLessThan(64 * 1024);

    const threads = captureIo(env());
    expect(await main(["threads", "--json"], threads), threads.err()).toBe(0);
    expect(JSON.parse(threads.out())).toMatchObject({ threads: [{ threadId: THREAD, status: "completed" }] });

    const show = captureIo(env());
    expect(await main(["show", THREAD, "--json"], show), show.err()).toBe(0);
    expect(JSON.parse(show.out())).toMatchObject({ threadId: THREAD, status: "completed", task: "Due diligence on a full disk" });

    const events = captureIo(env());
    expect(await main(["events", THREAD, "--json"], events), events.err()).toBe(0);
    expect(events.out().trim().split("\n").map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(["run.started", "run.finished"]);

    const verify = captureIo(env());
    expect(await main(["ledger", "verify", "--json"], verify), verify.err()).toBe(0);
    expect(JSON.parse(verify.out())).toMatchObject({ ok: true, entries: 1, problems: [] });

    const doctor = captureIo(env());
    await main(["doctor", "--json"], doctor);
    const disk = (JSON.parse(doctor.out()) as { checks: { id: string; status: string; detail: string }[] }).checks.find((c) => c.id === "nats-disk");
    expect(disk).toMatchObject({ status: "missing", detail: expect.stringMatching(/^DISK FULL: .*reading works, no run can store a step/) });
  }, 120_000);
});
