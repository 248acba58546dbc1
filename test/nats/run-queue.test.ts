import { EventType } from "../../src/nats/event-types.ts";
import { MAX_ATTEMPTS, RUN_REQUEST_SUBJECT, RunQueue, queueRunRequest, runQueueDepth, type RunRequest } from "../../src/nats/run-queue.ts";
import { Names } from "../../src/nats/streams.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

const LONG_ACK_WAIT_MS = 60_000;

const request = (threadId: string, task = "write about queues"): RunRequest => ({
  v: 1,
  kind: "run",
  threadId,
  task,
  submittedAt: new Date().toISOString(),
});

/** Wait for the thread's run.failed event (the queue publishes it when it gives up on a request). */
async function failureOf(t: TestNats, threadId: string): Promise<string> {
  const sub = t.backbone.events.subscribe(threadId, { from: "beginning", types: [EventType.RunFailed] });
  for await (const e of sub) {
    sub.stop();
    if (e.type === EventType.RunFailed) return e.data.message;
  }
  throw new Error("no run.failed event");
}

describe("RunQueue", () => {
  let t: TestNats;
  let queue: RunQueue;
  beforeAll(async () => {
    t = await startTestNats();
    // A long ack wait: however busy the machine, a live test "worker" keeps its request.
    queue = await RunQueue.open(t.backbone, { ackWaitMs: LONG_ACK_WAIT_MS });
  });
  afterAll(async () => {
    await t.close();
  });

  it("hands each request to one worker, in order; the same submit twice is stored once; acked requests leave the stream", async () => {
    const a = request("queue-a");
    const b = request("queue-b");
    await queue.submit(a);
    await queue.submit(a); // a retried submit: same request id
    await queue.submit(b);
    expect(await queue.depth()).toBe(2);

    const first = await queue.next({ expiresMs: 5_000 });
    const second = await queue.next({ expiresMs: 5_000 });
    expect(first?.request).toEqual(a);
    expect(second?.request).toEqual(b);
    expect(first?.deliveryCount).toBe(1);
    // Delivered but not acknowledged: still counted.
    expect(await queue.depth()).toBe(2);

    await first!.ack();
    await second!.ack();
    expect(await queue.depth()).toBe(0);
    const info = await t.backbone.jsm.streams.info(Names.runsStream);
    expect(info.config.retention).toBe("workqueue");
    expect(info.state.messages).toBe(0);
    await expect(first!.ack()).rejects.toThrow(/already settled/);
  });

  it("a retried request comes back to the queue without counting as a failed attempt", async () => {
    await queue.submit(request("queue-retry"));
    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request.threadId).toBe("queue-retry");
    await got!.retry(0);
    const again = await queue.next({ expiresMs: 5_000 });
    expect(again?.request.threadId).toBe("queue-retry");
    expect(again?.deliveryCount).toBe(1);
    // A delayed retry is held back, then delivered, still as the first attempt.
    await again!.retry(1_000);
    const later = await queue.next({ expiresMs: 10_000 });
    expect(later?.request.threadId).toBe("queue-retry");
    expect(later?.deliveryCount).toBe(1);
    await later!.ack();
    expect(await queue.depth()).toBe(0);
  });

  it("a worker that dies loses the request to the next; after MAX_ATTEMPTS deaths it ends as failed, with the reason in the thread's events", async () => {
    // A fleet configured with a short ack wait, so a "dead" worker's request comes back within the test.
    const fast = await RunQueue.open(t.backbone, { ackWaitMs: 1_000 });
    expect(fast.ackWaitMs).toBe(1_000);
    await fast.submit(request("queue-poison"));
    const counts: number[] = [];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      // Taken and never settled, nor kept alive with working(): as if the worker was killed.
      const got = await fast.next({ expiresMs: 15_000 });
      expect(got?.request.threadId).toBe("queue-poison");
      counts.push(got!.deliveryCount);
    }
    expect(counts).toEqual([1, 2, 3]);
    const stop = new AbortController();
    const failed = failureOf(t, "queue-poison").finally(() => stop.abort());
    expect(await fast.next({ signal: stop.signal, expiresMs: 30_000 })).toBeUndefined();
    expect(await failed).toMatch(/taken by 3 workers and none finished it/);
    expect(await queue.depth()).toBe(0);
    // A submitter opening the queue keeps the fleet's ack wait; a fleet that sets one changes it.
    expect((await RunQueue.open(t.backbone)).ackWaitMs).toBe(1_000);
    expect((await RunQueue.open(t.backbone, { ackWaitMs: LONG_ACK_WAIT_MS })).ackWaitMs).toBe(LONG_ACK_WAIT_MS);
    expect((await t.backbone.jsm.consumers.info(Names.runsStream, "workers")).config.ack_wait).toBe(LONG_ACK_WAIT_MS * 1_000_000);
  });

  it("drop() ends a request that can never run, with its reason in the thread's events; malformed requests never reach a worker", async () => {
    // Published raw, as another client might: no task.
    await t.backbone.js.publish(RUN_REQUEST_SUBJECT, JSON.stringify({ v: 1, kind: "run", threadId: "queue-bad", submittedAt: new Date().toISOString() }));
    await queue.submit(request("queue-drop"));
    const got = await queue.next({ expiresMs: 5_000 });
    expect(got?.request.threadId).toBe("queue-drop");
    await got!.drop("its sources are gone");
    expect(await failureOf(t, "queue-drop")).toBe("its sources are gone");
    expect(await failureOf(t, "queue-bad")).toBe("run request refused: a run request needs a task");
    expect(await queue.depth()).toBe(0);
  });

  it("refuses a malformed request before queueing it", async () => {
    await expect(queueRunRequest(t.backbone.js, { ...request("x"), kind: "walk" as "run" })).rejects.toThrow(/unknown run request kind/);
    await expect(queue.submit({ ...request("x"), maxTokens: -1 })).rejects.toThrow(/maxTokens must be a positive integer/);
    expect(await runQueueDepth(t.backbone.jsm)).toBe(0);
  });

  it("a worker's pull survives its consumer being deleted", async () => {
    const submitter = await RunQueue.open(t.backbone);
    await t.backbone.jsm.consumers.delete(Names.runsStream, "workers");
    const waiting = queue.next({ expiresMs: 20_000 });
    await submitter.submit(request("queue-after-delete"));
    const got = await waiting;
    expect(got?.request.threadId).toBe("queue-after-delete");
    await got!.ack();
    expect(await queue.depth()).toBe(0);
  });

  it("an aborted wait loses nothing: a request that arrives afterwards is delivered as a first attempt", async () => {
    const stop = new AbortController();
    const waiting = queue.next({ signal: stop.signal, expiresMs: 30_000 });
    stop.abort();
    expect(await waiting).toBeUndefined();
    await queue.submit(request("queue-after-abort"));
    const got = await queue.next({ expiresMs: 10_000 });
    expect(got?.request.threadId).toBe("queue-after-abort");
    expect(got?.deliveryCount).toBe(1);
    await got!.ack();
  });
});
