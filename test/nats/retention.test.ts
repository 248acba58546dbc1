/**
 * Retention on a real nats-server: which threads are compacted, expired or kept (the policy, with
 * its clock given), and what compaction and expiry leave behind in the real stores.
 */
import { uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { EventType } from "../../src/nats/event-types.ts";
import {
  applyRetention,
  DEFAULT_EXPIRE_AFTER,
  parseAge,
  planRetention,
  retentionPolicy,
  type ThreadRecord,
} from "../../src/nats/retention.ts";
import { Names } from "../../src/nats/streams.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

const DAY = 86_400_000;
const meta = { source: "loop" as const, step: 0, parents: {} };

function checkpoint(values: Record<string, unknown>, versions: Record<string, number>): Checkpoint {
  return { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: values, channel_versions: versions, versions_seen: {} };
}

describe("retention policy", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();

  it("compacts finished threads, expires finished ones past the age, keeps running and owner-waiting ones whatever their age", () => {
    const threads: ThreadRecord[] = [
      { threadId: "done-new", status: "completed", updatedAt: at(1) },
      { threadId: "done-old", status: "completed", updatedAt: at(31) },
      { threadId: "failed-old", status: "failed", updatedAt: at(40) },
      { threadId: "incomplete-new", status: "incomplete", updatedAt: at(29) },
      { threadId: "running-old", status: "running", updatedAt: at(100) },
      { threadId: "payment-old", status: "interrupted", updatedAt: at(100) },
      { threadId: "done-undated", status: "completed" },
    ];
    expect(planRetention(threads, { expireAfterMs: 30 * DAY }, now)).toEqual({
      compact: ["done-new", "incomplete-new", "done-undated"],
      expire: ["done-old", "failed-old"],
      kept: ["running-old", "payment-old"],
    });
    expect(planRetention(threads, { expireAfterMs: undefined }, now).expire).toEqual([]);
  });

  it("ages: a number and a unit, or never; the default is 30 days, the env var sets it, --older-than wins", () => {
    expect(parseAge("30d")).toBe(30 * DAY);
    expect(parseAge("12h")).toBe(12 * 3_600_000);
    expect(parseAge("2w")).toBe(14 * DAY);
    expect(parseAge("0s")).toBe(0);
    expect(parseAge("never")).toBeUndefined();
    expect(() => parseAge("30")).toThrow(/whole number with a unit .* got "30"/);
    expect(() => parseAge("-1d")).toThrow(/got "-1d"/);
    expect(DEFAULT_EXPIRE_AFTER).toBe("30d");
    expect(retentionPolicy({})).toEqual({ expireAfterMs: 30 * DAY });
    expect(retentionPolicy({ VIBEWRITER_EXPIRE_AFTER: "7d" })).toEqual({ expireAfterMs: 7 * DAY });
    expect(retentionPolicy({ VIBEWRITER_EXPIRE_AFTER: "7d" }, "1h")).toEqual({ expireAfterMs: 3_600_000 });
    expect(() => retentionPolicy({ VIBEWRITER_EXPIRE_AFTER: "soon" })).toThrow(/VIBEWRITER_EXPIRE_AFTER must be/);
  });
});

describe("retention on the stores", () => {
  let t: TestNats;
  beforeAll(async () => {
    t = await startTestNats();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A thread with 5 checkpoints, events, files, run options and a journal entry. */
  async function makeThread(id: string): Promise<RunnableConfig> {
    const b = t.backbone;
    let cfg: RunnableConfig = { configurable: { thread_id: id, checkpoint_ns: "" } };
    for (let i = 1; i <= 5; i++) cfg = await b.checkpointer.put(cfg, checkpoint({ n: i, todos: [`step ${i}`] }, { n: i, todos: i }), { ...meta, step: i }, { n: i, todos: i });
    await b.events.publish(id, { type: EventType.RunStarted, data: { task: `task of ${id}` } });
    await b.events.publish(id, { type: EventType.RunFinished, data: { status: "completed", report: `threads/${id}/report.md` } });
    await b.artifacts.put(`threads/${id}/report.md`, `report of ${id}`);
    await b.artifacts.put(`threads/${id}/workspace/notes.md`, `notes of ${id}`);
    await b.store.put(["vibewriter", "run-options"], id, { skills: [], allowNetwork: false });
    await b.store.put(["vibewriter", "effects", id], "publish_report:1", { done: true });
    return cfg;
  }

  it("compaction keeps the latest checkpoint (what show and resume read) and drops the older ones", async () => {
    const b = t.backbone;
    const latest = await makeThread("keep-me");
    const before = await b.checkpointer.getTuple({ configurable: { thread_id: "keep-me" } });
    const result = await applyRetention(b, { compact: ["keep-me"], expire: [], kept: [] });
    expect(result.compacted).toEqual({ "keep-me": 4 });
    const after = await b.checkpointer.getTuple({ configurable: { thread_id: "keep-me" } });
    expect(after?.checkpoint.id).toBe(latest.configurable!.checkpoint_id);
    expect(after?.checkpoint.channel_values).toEqual(before?.checkpoint.channel_values);
    const all = [];
    for await (const c of b.checkpointer.list({ configurable: { thread_id: "keep-me" } })) all.push(c.checkpoint.id);
    expect(all).toEqual([latest.configurable!.checkpoint_id]);
    // Everything else of the thread is still there.
    expect(await b.events.history("keep-me")).toHaveLength(2);
    expect(await b.artifacts.info("threads/keep-me/report.md")).not.toBeNull();
    // Compacting again finds nothing to drop.
    expect((await applyRetention(b, { compact: ["keep-me"], expire: [], kept: [] })).compacted).toEqual({ "keep-me": 0 });
  });

  it("expiry deletes the thread's checkpoints, events, files, run options and journal; other threads and shared sources stay", async () => {
    const b = t.backbone;
    await makeThread("old-one");
    await makeThread("other");
    await b.artifacts.put("sources/abc123def456", "a shared source");
    await applyRetention(b, { compact: [], expire: ["old-one"], kept: ["other"] });

    expect(await b.checkpointer.getTuple({ configurable: { thread_id: "old-one" } })).toBeUndefined();
    expect(await b.events.history("old-one")).toEqual([]);
    expect(await b.events.threads()).not.toContain("old-one");
    expect(await b.artifacts.list("threads/old-one/")).toEqual([]);
    expect(await b.store.get(["vibewriter", "run-options"], "old-one")).toBeNull();
    expect(await b.store.search(["vibewriter", "effects", "old-one"])).toEqual([]);
    const events = await b.jsm.streams.info(Names.eventsStream, { subjects_filter: `${b.events.threadSubject("old-one")}.>` });
    expect(Object.keys(events.state.subjects ?? {})).toEqual([]);

    expect(await b.checkpointer.getTuple({ configurable: { thread_id: "other" } })).toBeDefined();
    expect(await b.events.history("other")).toHaveLength(2);
    expect((await b.artifacts.list("threads/other/")).map((a) => a.name).sort()).toEqual(["threads/other/report.md", "threads/other/workspace/notes.md"]);
    expect(await b.store.get(["vibewriter", "run-options"], "other")).not.toBeNull();
    expect(await b.artifacts.info("sources/abc123def456")).not.toBeNull();
  });
});
