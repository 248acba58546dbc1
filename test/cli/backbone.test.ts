/**
 * `vibewriter demo` on the embedded nats-server (no NATS_URL), as a child process with real VMs,
 * when that server is SIGKILLed mid-run: the run continues on a server restarted on the same store
 * and port; when it cannot be restarted the run ends with a clear message; Ctrl-C always exits.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { imagesDir } from "../../src/sandbox/image/build.ts";
import { serversOnStore } from "../../src/nats/store-processes.ts";
import { descendants, killAll, liveQemus, spawnCli, type CliChild } from "./child.ts";
import { requireGuestImage } from "./guest-image.ts";

describe("the embedded nats-server killed during vibewriter demo", () => {
  let state: string;
  let broken: string;
  let bin: string;
  const leftovers: number[] = [];
  const server = () => JSON.parse(readFileSync(join(state, "nats", "server.json"), "utf8")) as { pid: number; port: number };
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, VIBEWRITER_STATE_DIR: state, VIBEWRITER_IMAGES_DIR: imagesDir(), ...extra };
    delete e.NATS_URL;
    return e;
  };
  /** Start the demo and wait until the researcher works in its VM: the middle of the run. */
  const demoUntilResearching = async (thread: string, extra: NodeJS.ProcessEnv = {}): Promise<CliChild> => {
    const demo = spawnCli(["demo", "--thread", thread], env(extra));
    await demo.waitForOutput("→ researcher");
    leftovers.push(...descendants(demo.child.pid!));
    return demo;
  };

  beforeAll(async () => {
    await requireGuestImage();
  });
  beforeEach(async () => {
    state = await mkdtemp(join(tmpdir(), "vibewriter-outage-"));
    // A nats-server that refuses to start once `broken` exists, as a removed binary would.
    broken = join(state, "broken");
    bin = join(state, "nats-server-wrapper");
    writeFileSync(bin, `#!/bin/sh\nif [ -e '${broken}' ]; then echo "nats-server: cannot start (test)" >&2; exit 1; fi\nexec nats-server "$@"\n`);
    chmodSync(bin, 0o755);
  });
  afterEach(async () => {
    killAll(leftovers.splice(0));
    for (const p of serversOnStore(join(state, "nats"))) process.kill(p.pid, "SIGKILL");
    await rm(state, { recursive: true, force: true });
  });

  it("the run continues on a server restarted on the same store and port, and completes", async () => {
    const demo = await demoUntilResearching("outage-continues");
    const before = server();
    process.kill(before.pid, "SIGKILL");
    const { code } = await demo.exited;
    expect(code, demo.stderr()).toBe(0);
    expect(demo.stdout()).toMatch(/Thread outage-continues completed\./);

    // The thread is whole: one report, status completed, read by a later command.
    const threads = spawnCli(["threads", "--json"], env());
    expect((await threads.exited).code, threads.stderr()).toBe(0);
    const list = JSON.parse(threads.stdout()) as { threads: { threadId: string; status: string; hasReport: boolean }[] };
    expect(list.threads).toEqual([expect.objectContaining({ threadId: "outage-continues", status: "completed", hasReport: true })]);
    const events = spawnCli(["events", "outage-continues", "--json"], env());
    expect((await events.exited).code).toBe(0);
    // One JSON event per line; the report and each citation were stored once although writes were retried.
    const stored = events.stdout().trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    const published = stored.filter((e) => e.type === "report.published");
    expect(published).toHaveLength(1);
  }, 600_000);

  it("a server that cannot be restarted ends the run with a clear message and exit 1, leaving no VM", async () => {
    const demo = await demoUntilResearching("outage-fatal", { NATS_SERVER_BIN: bin, VIBEWRITER_NATS_RESTART_SEC: "3" });
    const vms = liveQemus(descendants(demo.child.pid!));
    writeFileSync(broken, "");
    process.kill(server().pid, "SIGKILL");
    const { code } = await demo.exited;
    expect(code).toBe(1);
    expect(demo.stderr()).toMatch(/vibewriter: server_lost: the embedded nats-server \(store .*\) stopped and could not be restarted within 3 s: .*nats-server not found/);
    expect(demo.stderr()).toMatch(/vibewriter resume <thread>/);
    expect(liveQemus(vms)).toEqual([]);
  }, 600_000);

  it("Ctrl-C while the server is gone exits (130) instead of waiting for it", async () => {
    const demo = await demoUntilResearching("outage-ctrl-c", { NATS_SERVER_BIN: bin, VIBEWRITER_NATS_RESTART_SEC: "600" });
    writeFileSync(broken, "");
    process.kill(server().pid, "SIGKILL");
    demo.child.kill("SIGINT");
    const { code } = await demo.exited;
    expect(code, demo.stderr()).toBe(130);
    expect(demo.stderr()).toMatch(/Interrupted\. Thread outage-ctrl-c is saved in NATS\./);
  }, 600_000);
});
