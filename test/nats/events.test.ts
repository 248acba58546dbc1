import { EventType, RunStatus, type StoredEvent } from "../../src/nats/event-types.ts";
import { EventLog } from "../../src/nats/events.ts";
import { Names } from "../../src/nats/streams.ts";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { PaymentStatus } from "../../src/wallet/payment-record.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

describe("EventLog", () => {
  let t: TestNats;
  beforeAll(async () => {
    t = await startTestNats();
  });
  afterAll(async () => {
    await t.close();
  });

  it("replays a thread's events from the beginning, then follows live ones, until stopped", async () => {
    const events = t.backbone.events;
    const thread = "thread/with spaces.and.dots";
    await events.publish(thread, { id: "r1:started", type: EventType.RunStarted, data: { task: "write about NATS" } });
    await events.publish(thread, {
      type: EventType.TodosUpdated,
      data: { todos: [{ content: "research", status: "in_progress" }] },
    });
    await events.publish("another thread", { type: EventType.RunStarted, data: { task: "other" } });

    const sub = events.subscribe(thread, { from: "beginning" });
    const seen: StoredEvent[] = [];
    const done = (async () => {
      for await (const e of sub) {
        seen.push(e);
        if (seen.length === 2) {
          // Live: published after the subscriber caught up.
          await events.publish(thread, { type: EventType.ToolStarted, agent: "researcher", data: { tool: "web_search", callId: "c1", args: { q: "nats" } } });
        }
        if (seen.length === 3) sub.stop();
      }
    })();
    await done;
    expect(seen.map((e) => e.type)).toEqual([EventType.RunStarted, EventType.TodosUpdated, EventType.ToolStarted]);
    expect(seen.every((e) => e.threadId === thread)).toBe(true);
    expect(seen[0]!.seq).toBeLessThan(seen[2]!.seq);
    const first = seen[0]!;
    if (first.type !== EventType.RunStarted) throw new Error("narrowing");
    expect(first.id).toBe("r1:started");
    expect(first.agent).toBe("main");
    expect(first.data.task).toBe("write about NATS");
    expect(seen[2]!.agent).toBe("researcher");
  });

  it("subscribes to new events only and filters by type; history returns what is stored", async () => {
    const events = t.backbone.events;
    const thread = "t-live";
    await events.publish(thread, { type: EventType.Citation, data: { sourceId: "old", url: "https://old.example" } });
    const sub = events.subscribe(thread, { types: [EventType.Citation, EventType.RunFinished] });
    await sub.ready;
    const it = sub[Symbol.asyncIterator]();
    const next = it.next();
    await events.publish(thread, { type: EventType.FileWritten, data: { path: "/draft.md", bytes: 120 } });
    await events.publish(thread, { type: EventType.Citation, data: { sourceId: "new", url: "https://new.example", title: "New" } });
    const got = await next;
    expect(got.value?.type).toBe(EventType.Citation);
    expect(got.value?.type === EventType.Citation && got.value.data.url).toBe("https://new.example");
    sub.stop();
    await events.publish(thread, { type: EventType.RunFinished, data: { status: RunStatus.Completed } });
    const history = await events.history(thread);
    expect(history.map((e) => e.type)).toEqual([EventType.Citation, EventType.FileWritten, EventType.Citation, EventType.RunFinished]);
    expect((await events.history(thread, { types: [EventType.FileWritten] })).length).toBe(1);
    expect(await events.history("no such thread")).toEqual([]);
  });

  it("stores a replayed id once (the msgID is thread + id), in publish order across types", async () => {
    const events = t.backbone.events;
    const a = await events.publish("dedup", { id: "main:c1:start", type: EventType.ToolStarted, data: { tool: "execute", callId: "c1" } });
    await events.publish("dedup", { id: "main:c1:end", type: EventType.ToolFinished, data: { tool: "execute", callId: "c1", status: "ok" } });
    // A crash-resume replays the step: the same ids again, other data (a later clock).
    const again = await events.publish("dedup", { id: "main:c1:start", type: EventType.ToolStarted, data: { tool: "execute", callId: "c1", args: "x" } });
    expect(again.seq).toBe(a.seq);
    // The same id in another thread is another event.
    await events.publish("dedup-2", { id: "main:c1:start", type: EventType.ToolStarted, data: { tool: "execute", callId: "c1" } });
    const history = await events.history("dedup");
    expect(history.map((e) => e.id)).toEqual(["main:c1:start", "main:c1:end"]);
    expect(history[0]!.data).toEqual({ tool: "execute", callId: "c1" });
    expect((await events.history("dedup-2")).length).toBe(1);
    expect(await events.threads()).toEqual(expect.arrayContaining(["dedup", "dedup-2", "thread/with spaces.and.dots", "t-live"]));
  });

  it("stores an id once at any age: a copy the 2-minute msg-id window has forgotten is still not stored again", async () => {
    const thread = "dedup-any-age";
    const first = await t.backbone.events.publish(thread, { id: "publisher:report:ab12:citation:0", type: EventType.Citation, data: { sourceId: "s1" } });
    // Stand-in for "13 minutes later": the same event stored under a msg-id the server no longer
    // knows, then a fresh log (a new process after a crash: nothing cached) replays the step.
    await t.backbone.js.publish(`${t.backbone.events.threadSubject(thread)}.${EventType.ReportPublished}`, JSON.stringify({
      id: "publisher:report:ab12", type: EventType.ReportPublished, threadId: thread, agent: "publisher", at: new Date().toISOString(), data: { artifact: "r.md", sha256: "ab12", bytes: 10, citations: 2, sources: ["s1", "s2"] },
    }), { msgID: "a-msg-id-from-long-ago" });
    const dropped: string[] = [];
    const watch = t.nc.subscribe(`${Names.duplicateEventsSubjectPrefix}.>`, { callback: (_e, m) => void dropped.push(m.json<{ id: string }>().id) });
    const resumed = new EventLog(t.backbone.js, { nc: t.nc });
    const report = { artifact: "r.md", sha256: "ab12", bytes: 10, citations: 2, sources: ["s1", "s2"] };
    const again = await resumed.publish(thread, { id: "publisher:report:ab12", type: EventType.ReportPublished, data: report });
    const citationAgain = await resumed.publish(thread, { id: "publisher:report:ab12:citation:0", type: EventType.Citation, data: { sourceId: "s1" } });
    expect(citationAgain.seq).toBe(first.seq);
    expect(again.seq).toBeGreaterThan(first.seq); // the copy stored long ago
    const next = await resumed.publish(thread, { id: "publisher:report:ab12:citation:1", type: EventType.Citation, data: { sourceId: "s2" } });
    expect(next.seq).toBeGreaterThan(again.seq);
    expect((await t.backbone.events.history(thread)).map((e) => e.id)).toEqual([
      "publisher:report:ab12:citation:0",
      "publisher:report:ab12",
      "publisher:report:ab12:citation:1",
    ]);
    // The dropped copies were announced (not stored) for monitors that count replays.
    await t.nc.flush();
    watch.unsubscribe();
    expect(dropped.sort()).toEqual(["publisher:report:ab12", "publisher:report:ab12:citation:0"]);
    const info = await t.backbone.jsm.streams.info(Names.eventsStream, { subjects_filter: `${Names.duplicateEventsSubjectPrefix}.>` });
    expect(Object.keys(info.state.subjects ?? {})).toEqual([]);
  });

  it("reads one event per id even when an older store holds two copies", async () => {
    const thread = "legacy-copies";
    const subject = `${t.backbone.events.threadSubject(thread)}.${EventType.Citation}`;
    const copy = (n: number) => JSON.stringify({ id: "c:0", type: EventType.Citation, threadId: thread, agent: "main", at: new Date().toISOString(), data: { sourceId: `s${n}` } });
    await t.backbone.js.publish(subject, copy(1), { msgID: "old-1" });
    await t.backbone.js.publish(subject, copy(2), { msgID: "old-2" });
    const history = await t.backbone.events.history(thread);
    expect(history.map((e) => e.data)).toEqual([{ sourceId: "s1" }]);
    const sub = t.backbone.events.subscribe(thread, { from: "beginning" });
    const it = sub[Symbol.asyncIterator]();
    expect((await it.next()).value?.data).toEqual({ sourceId: "s1" });
    await t.backbone.events.publish(thread, { id: "c:1", type: EventType.Citation, data: { sourceId: "s3" } });
    expect((await it.next()).value?.data).toEqual({ sourceId: "s3" }); // the second stored copy was skipped
    sub.stop();
  });

  it("publishes payments without key material and refuses anything that carries a secret", async () => {
    const events = t.backbone.events;
    const ok = await events.publish("pay", {
      type: EventType.Payment,
      data: {
        paymentId: "p1",
        status: PaymentStatus.Submitted,
        amount: "2.5000000",
        asset: "XLM",
        destination: "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
        txHash: "abc123",
      },
    });
    expect(ok.seq).toBeGreaterThan(0);
    const leaked = await events
      .publish("pay", {
        type: EventType.Payment,
        data: {
          paymentId: "p2",
          status: PaymentStatus.SubmitFailed,
          amount: "1",
          asset: "XLM",
          destination: "G...",
          reason: "signing failed for SCZANGBA5YHTNYVVV4C3U252E2B6P6F5T3U6MM63WBSBZATAQI3EBTQ4",
        },
      })
      .catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(leaked, NatsErrorCode.InvalidArgument)).toBe(true);
    const apiKey = await events
      .publish("pay", { type: EventType.Warning, data: { message: "key sk-ant-abcdefghijklmnopqrstuvwx" } })
      .catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(apiKey, NatsErrorCode.InvalidArgument)).toBe(true);
    expect((await events.history("pay")).map((e) => (e.type === EventType.Payment ? e.data.paymentId : e.type))).toEqual(["p1"]);
  });

  it("rejects unknown event types, empty thread ids, bad ids, times and data", async () => {
    const events = t.backbone.events;
    const e1 = await events.publish("x", { type: "nope" } as never).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e1, NatsErrorCode.InvalidArgument)).toBe(true);
    const e2 = await events.publish("", { type: EventType.RunStarted, data: {} }).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e2, NatsErrorCode.InvalidName)).toBe(true);
    const e3 = await events.publish("x", { id: "", type: EventType.RunStarted, data: {} }).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e3, NatsErrorCode.InvalidArgument)).toBe(true);
    const e4 = await events.publish("x", { type: EventType.RunStarted, at: "yesterday", data: {} }).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e4, NatsErrorCode.InvalidArgument)).toBe(true);
    const e5 = await events.publish("x", { type: EventType.RunStarted } as never).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e5, NatsErrorCode.InvalidArgument)).toBe(true);
    expect(await events.history("x")).toEqual([]);
  });

  it("keeps following across a server restart", async () => {
    const events = t.backbone.events;
    const thread = "t-restart";
    const sub = events.subscribe(thread, { from: "beginning" });
    const it = sub[Symbol.asyncIterator]();
    await events.publish(thread, { type: EventType.RunStarted, data: { task: "before" } });
    expect((await it.next()).value?.type).toBe(EventType.RunStarted);
    await t.server.kill();
    await t.server.restart();
    await events.publish(thread, { type: EventType.RunFinished, data: { status: RunStatus.Completed } });
    const after = await it.next();
    expect(after.value?.type).toBe(EventType.RunFinished);
    sub.stop();
  });
});
