import { EventType, PaymentStatus, RunStatus, type StoredEvent } from "../../src/nats/event-types.ts";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
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
    await events.publish(thread, { type: EventType.RunStarted, runId: "r1", summary: "write about NATS" });
    await events.publish(thread, {
      type: EventType.TodosChanged,
      todos: [{ content: "research", status: "in_progress" }],
    });
    await events.publish("another thread", { type: EventType.RunStarted, runId: "other" });

    const sub = events.subscribe(thread, { from: "beginning" });
    const seen: StoredEvent[] = [];
    const done = (async () => {
      for await (const e of sub) {
        seen.push(e);
        if (seen.length === 2) {
          // Live: published after the subscriber caught up.
          await events.publish(thread, { type: EventType.ToolCalled, toolCallId: "c1", name: "web_search", args: { q: "nats" } });
        }
        if (seen.length === 3) sub.stop();
      }
    })();
    await done;
    expect(seen.map((e) => e.type)).toEqual([EventType.RunStarted, EventType.TodosChanged, EventType.ToolCalled]);
    expect(seen.every((e) => e.threadId === thread)).toBe(true);
    expect(seen[0].seq).toBeLessThan(seen[2].seq);
    const first = seen[0];
    if (first.type !== EventType.RunStarted) throw new Error("narrowing");
    expect(first.runId).toBe("r1");
  });

  it("subscribes to new events only and filters by type; history returns what is stored", async () => {
    const events = t.backbone.events;
    const thread = "t-live";
    await events.publish(thread, { type: EventType.Citation, url: "https://old.example" });
    const sub = events.subscribe(thread, { types: [EventType.Citation, EventType.RunFinished] });
    await sub.ready;
    const it = sub[Symbol.asyncIterator]();
    const next = it.next();
    await events.publish(thread, { type: EventType.FileWritten, path: "/draft.md", bytes: 120 });
    await events.publish(thread, { type: EventType.Citation, url: "https://new.example", title: "New" });
    const got = await next;
    expect(got.value?.type).toBe(EventType.Citation);
    expect(got.value?.type === EventType.Citation && got.value.url).toBe("https://new.example");
    sub.stop();
    await events.publish(thread, {
      type: EventType.RunFinished,
      runId: "r",
      status: RunStatus.Succeeded,
    });
    const history = await events.history(thread);
    expect(history.map((e) => e.type)).toEqual([EventType.Citation, EventType.FileWritten, EventType.Citation, EventType.RunFinished]);
    expect((await events.history(thread, { types: [EventType.FileWritten] })).length).toBe(1);
    expect(await events.history("no such thread")).toEqual([]);
  });

  it("publishes payments without key material and refuses anything that carries a secret seed", async () => {
    const events = t.backbone.events;
    const ok = await events.publish("pay", {
      type: EventType.Payment,
      paymentId: "p1",
      status: PaymentStatus.Settled,
      amount: "2.5000000",
      asset: "XLM",
      destination: "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
      txHash: "abc123",
    });
    expect(ok.seq).toBeGreaterThan(0);
    const leaked = await events
      .publish("pay", {
        type: EventType.Payment,
        paymentId: "p2",
        status: PaymentStatus.Failed,
        amount: "1",
        asset: "XLM",
        destination: "G...",
        reason: "signing failed for SCZANGBA5YHTNYVVV4C3U252E2B6P6F5T3U6MM63WBSBZATAQI3EBTQ4",
      })
      .catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(leaked, NatsErrorCode.InvalidArgument)).toBe(true);
    expect((await events.history("pay")).map((e) => (e.type === EventType.Payment ? e.paymentId : ""))).toEqual(["p1"]);
  });

  it("rejects unknown event types and empty thread ids", async () => {
    const events = t.backbone.events;
    const e1 = await events.publish("x", { type: "nope" } as never).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e1, NatsErrorCode.InvalidArgument)).toBe(true);
    const e2 = await events.publish("", { type: EventType.RunStarted, runId: "r" }).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e2, NatsErrorCode.InvalidName)).toBe(true);
  });

  it("keeps following across a server restart", async () => {
    const events = t.backbone.events;
    const thread = "t-restart";
    const sub = events.subscribe(thread, { from: "beginning" });
    const it = sub[Symbol.asyncIterator]();
    await events.publish(thread, { type: EventType.RunStarted, runId: "before" });
    expect((await it.next()).value?.type).toBe(EventType.RunStarted);
    await t.server.kill();
    await t.server.restart();
    await events.publish(thread, { type: EventType.RunFinished, runId: "after", status: RunStatus.Succeeded });
    const after = await it.next();
    expect(after.value?.type).toBe(EventType.RunFinished);
    sub.stop();
  });
});
