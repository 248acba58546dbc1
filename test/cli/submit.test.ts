/**
 * `vibewriter submit` against a real nats-server (no VM, no model: a worker runs the thread later):
 * the id printed at once, the thread listed as queued by `threads`/`show`/`events`, the sources and
 * skills stored with it, the request on the queue; a bad folder refused with nothing queued.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requeueAfterDecision } from "../../src/agent/queue-thread.ts";
import { readSourceManifest } from "../../src/agent/sources.ts";
import { materializeThreadSkills } from "../../src/agent/thread-skills.ts";
import { main } from "../../src/cli/main.ts";
import { EventType } from "../../src/nats/event-types.ts";
import { RunQueue } from "../../src/nats/run-queue.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { captureIo } from "./capture.ts";

describe("vibewriter submit", () => {
  let nats: TestNats;
  let dir: string;
  let queue: RunQueue;
  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url, VIBEWRITER_STATE_DIR: join(dir, "state") });

  beforeAll(async () => {
    nats = await startTestNats();
    dir = await mkdtemp(join(tmpdir(), "vw-submit-"));
    await mkdir(join(dir, "sources"));
    await writeFile(join(dir, "sources", "memo.md"), "# Northwind\nRevenue grew 12% in 2025.\n");
    await mkdir(join(dir, "skills", "house-style"), { recursive: true });
    await writeFile(join(dir, "skills", "house-style", "SKILL.md"), "---\nname: house-style\ndescription: Our house style.\n---\n# Style\n");
    await mkdir(join(dir, "bad-sources"));
    await writeFile(join(dir, "bad-sources", "blob.bin"), Buffer.from([0, 1, 2, 3, 0, 0, 255, 254, 0, 7]));
    queue = await RunQueue.open(nats.backbone);
  });
  afterAll(async () => {
    await nats?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores sources and skills with the thread, queues the run and prints the thread id at once", async () => {
    const io = captureIo(env());
    const args = ["submit", "Assess Northwind", "--sources", join(dir, "sources"), "--skills", join(dir, "skills"), "--allow-network", "--max-model-calls", "40", "--json"];
    expect(await main(args, io)).toBe(0);
    const out = JSON.parse(io.out()) as { threadId: string; status: string; sources: number; skills: string[]; queueDepth: number };
    expect(out).toMatchObject({ status: "queued", sources: 1, skills: ["house-style"], queueDepth: 1 });

    const b = nats.backbone;
    expect((await readSourceManifest(b.blobs, out.threadId)).map((s) => s.origin)).toEqual(["memo.md"]);
    const skillDirs = await materializeThreadSkills(b.blobs, out.threadId, join(dir, "worker-skills"));
    expect(skillDirs).toEqual([join(dir, "worker-skills", "house-style")]);

    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request).toMatchObject({ v: 1, kind: "run", threadId: out.threadId, task: "Assess Northwind", allowNetwork: true, maxModelCalls: 40 });
    await got!.ack();
  });

  it("without --json prints only the thread id on stdout; threads, show and events know the queued thread", async () => {
    const io = captureIo(env());
    expect(await main(["submit", "Summarise the memo", "--thread", "queued-1"], io)).toBe(0);
    expect(io.out()).toBe("queued-1\n");
    expect(io.err()).toMatch(/queued thread queued-1/);

    const list = captureIo(env());
    expect(await main(["threads", "--json"], list)).toBe(0);
    const { threads } = JSON.parse(list.out()) as { threads: { threadId: string; status: string; task?: string }[] };
    expect(threads.find((t) => t.threadId === "queued-1")).toMatchObject({ status: "queued", task: "Summarise the memo" });

    const show = captureIo(env());
    expect(await main(["show", "queued-1"], show)).toBe(0);
    expect(show.out()).toMatch(/^thread queued-1 — queued\ntask: Summarise the memo/);

    const events = captureIo(env());
    expect(await main(["events", "queued-1", "--json"], events)).toBe(0);
    const logged = events.out().trim().split("\n").map((l) => JSON.parse(l) as { type: string; data: { kind: string; by: string } });
    expect(logged).toEqual([expect.objectContaining({ type: EventType.RunQueued, data: expect.objectContaining({ kind: "run", by: "submit" }) })]);
    const text = captureIo(env());
    expect(await main(["events", "queued-1"], text)).toBe(0);
    expect(text.out()).toMatch(/^\d\d:\d\d:\d\d run\.queued run by submit: Summarise the memo\n$/);

    // Submitting to an existing thread is refused: it would mix two tasks in one log.
    const again = captureIo(env());
    expect(await main(["submit", "Other task", "--thread", "queued-1"], again)).not.toBe(0);
    expect(again.err()).toMatch(/thread queued-1 already exists/);
    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request.threadId).toBe("queued-1");
    await got!.ack();
    expect(await queue.depth()).toBe(0);
  });

  it("refuses a bad sources folder or a missing skills folder with a clear error, and queues nothing", async () => {
    for (const [flags, why] of [
      [["--sources", join(dir, "bad-sources")], /refused the sources folder .*bad-sources[\s\S]*blob\.bin/],
      [["--sources", join(dir, "nowhere")], /sources folder .*nowhere does not exist/],
      [["--skills", join(dir, "no-skills")], /skill folder .*no-skills cannot be read/],
    ] as const) {
      const io = captureIo(env());
      expect(await main(["submit", "Bad input", "--thread", "refused-1", ...flags], io)).not.toBe(0);
      expect(io.err()).toMatch(why);
      expect(io.out()).toBe("");
    }
    expect(await queue.depth()).toBe(0);
    expect(await nats.backbone.events.threads()).not.toContain("refused-1");
  });

  it("an owner's decision on a queued thread queues its resume; a thread that never was queued is left alone", async () => {
    expect(await requeueAfterDecision(nats.backbone, "queued-1", "cli:owner")).toBe(true);
    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request).toMatchObject({ kind: "resume", threadId: "queued-1" });
    await got!.ack();
    const last = (await nats.backbone.events.history("queued-1")).at(-1);
    expect(last).toMatchObject({ type: EventType.RunQueued, data: { kind: "resume", by: "cli:owner" } });

    await nats.backbone.events.publish("local-1", { type: EventType.RunStarted, data: { task: "run locally" } });
    expect(await requeueAfterDecision(nats.backbone, "local-1", "cli:owner")).toBe(false);
    expect(await queue.depth()).toBe(0);
  });
});
