import type { RunnableConfig } from "@langchain/core/runnables";
import { uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { THREAD_ID_MAX_LENGTH } from "../../src/config/thread-id.ts";
import { JetStreamCheckpointSaver } from "../../src/nats/checkpointer.ts";
import { connectNats } from "../../src/nats/connection.ts";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { Names } from "../../src/nats/streams.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

const meta = { source: "loop" as const, step: 0, parents: {} };

function checkpoint(i: number, values: Record<string, unknown>, versions: Record<string, number>): Checkpoint {
  return { v: 4, id: uuid6(-1), ts: new Date().toISOString(), channel_values: values, channel_versions: versions, versions_seen: {} };
}

/** A second, independent checkpointer on its own connection: another process, as far as NATS knows. */
async function otherProcess(t: TestNats) {
  const nc = await connectNats({ url: t.server.url, name: "other-process" });
  const saver = new JetStreamCheckpointSaver({ nc, js: jetstream(nc), jsm: await jetstreamManager(nc) });
  return {
    saver,
    nc,
    async close() {
      await saver.close();
      await nc.close();
    },
  };
}

describe("JetStreamCheckpointSaver", () => {
  let t: TestNats;
  beforeEach(async () => {
    t = await startTestNats();
  });
  afterEach(async () => {
    await t.close();
  });

  it("stores namespaces and task ids that subjects and KV keys refuse", async () => {
    const saver = t.backbone.checkpointer;
    const odd = [
      "user@example.com/thread #1 ü.*>",
      "a.b.c",
      " leading and trailing ",
      "tab\tnewline\n",
      "_5f looks encoded",
      "x".repeat(5000),
      "🦜🔗",
      "=",
    ];
    // Thread ids follow the one rule (config/thread-id.ts), the longest it allows among them.
    const threads = odd.map((_, i) => (i === 0 ? "x".repeat(THREAD_ID_MAX_LENGTH) : `odd-${i}_t`));
    for (const [i, threadId] of threads.entries()) {
      const ns = `parent:${odd[i]}|child.*`;
      const cfg = await saver.put({ configurable: { thread_id: threadId, checkpoint_ns: ns } }, checkpoint(1, { v: odd[i] }, { v: 1 }), meta, { v: 1 });
      await saver.putWrites(cfg, [["v", `write for ${odd[i]}`]], `task ${odd[i]}.>`);
      const got = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: ns } });
      expect(got?.checkpoint.channel_values).toEqual({ v: odd[i] });
      expect(got?.config.configurable?.thread_id).toBe(threadId);
      expect(got?.pendingWrites).toEqual([[`task ${odd[i]}.>`, "v", `write for ${odd[i]}`]]);
    }
    // A fresh process reads them back from the stream alone.
    const other = await otherProcess(t);
    try {
      for (const [i, threadId] of threads.entries()) {
        const listed = [];
        for await (const tuple of other.saver.list({ configurable: { thread_id: threadId } })) listed.push(tuple);
        expect(listed.map((x) => x.checkpoint.channel_values)).toEqual([{ v: odd[i] }]);
        expect(listed[0].config.configurable?.checkpoint_ns).toBe(`parent:${odd[i]}|child.*`);
      }
    } finally {
      await other.close();
    }
  });

  it("refuses a thread id outside the one thread id rule in every call, storing nothing", async () => {
    const saver = t.backbone.checkpointer;
    const stored = async () => (await t.backbone.jsm.streams.info(saver.stream)).state.messages;
    const before = await stored();
    for (const id of ["a.b.c", "user@example.com/thread #1", "", "-lead", "🦜🔗", "x".repeat(THREAD_ID_MAX_LENGTH + 1)]) {
      const thread = { configurable: { thread_id: id, checkpoint_ns: "" } };
      const calls = [
        () => saver.put(thread, checkpoint(1, { v: 1 }, { v: 1 }), meta, { v: 1 }),
        () => saver.putWrites({ configurable: { ...thread.configurable, checkpoint_id: uuid6(-1) } }, [["v", 1]], "task"),
        () => saver.getTuple(thread),
        () => saver.list(thread).next(),
        () => saver.deleteThread(id),
        () => saver.compactThread(id),
      ];
      for (const call of calls) {
        await expect(call()).rejects.toMatchObject({ code: NatsErrorCode.InvalidArgument, message: expect.stringContaining("invalid thread id") });
      }
    }
    expect(await stored()).toBe(before);
  });

  it("stores a channel value larger than one NATS message", async () => {
    const big = "0123456789abcdef".repeat(200_000); // 3.2 MB of JSON, max_payload is 1 MiB
    const saver = t.backbone.checkpointer;
    await saver.put({ configurable: { thread_id: "big" } }, checkpoint(1, { doc: big, small: 1 }, { doc: 1, small: 1 }), meta, { doc: 1, small: 1 });
    const other = await otherProcess(t);
    try {
      const got = await other.saver.getTuple({ configurable: { thread_id: "big" } });
      expect((got?.checkpoint.channel_values.doc as string).length).toBe(big.length);
      expect(got?.checkpoint.channel_values.doc).toBe(big);
      expect(got?.checkpoint.channel_values.small).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("stores a growing conversation as deltas that any process rebuilds exactly", async () => {
    const { HumanMessage, AIMessage } = await import("@langchain/core/messages");
    const saver = t.backbone.checkpointer;
    let messages: unknown[] = Array.from({ length: 40 }, (_, i) =>
      i % 2 ? new AIMessage({ id: `a${i}`, content: `answer ${i} `.repeat(20) }) : new HumanMessage({ id: `h${i}`, content: `question ${i} `.repeat(20) }),
    );
    let cfg: RunnableConfig = { configurable: { thread_id: "conversation" } };
    const expected = new Map<string, string>();
    const growth: number[] = [];
    for (let step = 1; step <= 12; step++) {
      if (step === 8) {
        // An in-place edit of the very array already written: must be stored whole, not as a delta.
        messages.push(new HumanMessage({ id: `pushed${step}`, content: "edited in place" }));
      } else {
        messages = [...messages.slice(step % 3 === 0 ? 2 : 0), new AIMessage({ id: `n${step}`, content: `step ${step}` })];
      }
      const before = (await t.backbone.jsm.streams.info(Names.stateStream)).state.bytes;
      cfg = await saver.put(cfg, checkpoint(step, { messages }, { messages: step }), meta, { messages: step });
      growth.push((await t.backbone.jsm.streams.info(Names.stateStream)).state.bytes - before);
      expected.set(cfg.configurable!.checkpoint_id as string, JSON.stringify(messages));
    }
    const full = growth[0];
    // Steps that only add or drop a few messages store a fraction of the conversation.
    expect(growth[3]).toBeLessThan(full / 4);
    expect(growth[7]).toBeGreaterThan(full / 2); // the in-place edit
    const other = await otherProcess(t);
    try {
      let n = 0;
      for await (const x of other.saver.list({ configurable: { thread_id: "conversation" } })) {
        expect(JSON.stringify(x.checkpoint.channel_values.messages)).toBe(expected.get(x.checkpoint.id));
        expect((x.checkpoint.channel_values.messages as object[])[0].constructor.name).toMatch(/Message$/);
        n++;
      }
      expect(n).toBe(12);
    } finally {
      await other.close();
    }
  });

  it("shares a thread between processes: reads see the other's acknowledged writes", async () => {
    const a = t.backbone.checkpointer;
    const other = await otherProcess(t);
    try {
      const b = other.saver;
      const thread = { configurable: { thread_id: "shared", checkpoint_ns: "" } };
      // b looks first, so it holds a (still empty) view that must catch up.
      expect(await b.getTuple(thread)).toBeUndefined();
      const c1 = await a.put(thread, checkpoint(1, { n: 1 }, { n: 1 }), meta, { n: 1 });
      expect((await b.getTuple(thread))?.checkpoint.channel_values).toEqual({ n: 1 });

      // Regular writes: the first one wins, whichever process it came from. putWrites is
      // write-behind, so "first" means first acknowledged: b's read waits for its write's ack
      // (two connections give no order between writes still in flight).
      await b.putWrites(c1, [["n", "from b"]], "task-1");
      await b.getTuple(c1);
      await a.putWrites(c1, [["n", "from a"]], "task-1");
      expect((await a.getTuple(c1))?.pendingWrites).toEqual([["task-1", "n", "from b"]]);
      expect((await b.getTuple(c1))?.pendingWrites).toEqual([["task-1", "n", "from b"]]);

      const c2 = await b.put(c1, checkpoint(2, { n: 2 }, { n: 2 }), meta, { n: 2 });
      const latest = await a.getTuple(thread);
      expect(latest?.checkpoint.id).toBe(c2.configurable?.checkpoint_id);
      expect(latest?.parentConfig?.configurable?.checkpoint_id).toBe(c1.configurable?.checkpoint_id);

      await a.deleteThread("shared");
      expect(await b.getTuple(thread)).toBeUndefined();
      const c3 = await b.put(thread, checkpoint(3, { n: 3 }, { n: 3 }), meta, { n: 3 });
      const afterDelete = [];
      for await (const x of a.list(thread)) afterDelete.push(x.checkpoint.id);
      expect(afterDelete).toEqual([c3.configurable?.checkpoint_id]);
    } finally {
      await other.close();
    }
  });

  it("reads a thread this process holds (its lease) from memory, and still sees what another writer stores", async () => {
    const mine = await otherProcess(t);
    const other = await otherProcess(t);
    try {
      const saver = mine.saver;
      const thread = { configurable: { thread_id: "held", checkpoint_ns: "" } };
      const sent = () => mine.nc.stats().outMsgs;
      // Twenty steps: a put, its writes, a read of the latest checkpoint.
      const steps = async (from: RunnableConfig, n: number) => {
        let config = from;
        const before = sent();
        for (let i = 0; i < n; i++) {
          config = await saver.put(config, checkpoint(i, { n: i }, { n: i + 1 }), meta, { n: i + 1 });
          await saver.putWrites(config, [["n", `write ${i}`]], `task-${i}`);
          const latest = await saver.getTuple(thread);
          expect(latest?.checkpoint.id).toBe(config.configurable?.checkpoint_id);
          expect(latest?.pendingWrites).toEqual([[`task-${i}`, "n", `write ${i}`]]);
        }
        return { config, messages: sent() - before };
      };
      const free = await steps(thread, 20);
      const release = saver.holdThread("held");
      const held = await steps(free.config, 20);
      // Unheld, every read asks for the thread's last message; held, only the writes go out.
      expect(free.messages).toBeGreaterThanOrEqual(60);
      expect(held.messages).toBeLessThan(free.messages - 15);

      // Another writer breaks the hold: what the live tail announces is fetched before a read answers.
      const theirs = await other.saver.put(held.config, checkpoint(99, { n: 99 }, { n: 99 }), meta, { n: 99 });
      await vi.waitFor(async () => expect((await saver.getTuple(thread))?.checkpoint.id).toBe(theirs.configurable?.checkpoint_id), { timeout: 15_000 });

      release();
      release(); // idempotent
      const after = sent();
      expect((await saver.getTuple(thread))?.checkpoint.channel_values).toEqual({ n: 99 });
      expect(sent()).toBeGreaterThan(after); // asked the server again
    } finally {
      await mine.close();
      await other.close();
    }
  });

  it("a resume in a new process reads the latest checkpoint whole: values placed in older checkpoints, delta chains, writes, forks", async () => {
    const { HumanMessage, AIMessage } = await import("@langchain/core/messages");
    const saver = t.backbone.checkpointer;
    const thread = { configurable: { thread_id: "resume", checkpoint_ns: "" } };
    let messages: unknown[] = Array.from({ length: 20 }, (_, i) => new HumanMessage({ id: `m${i}`, content: `message ${i}` }));
    const todos = [{ content: "placed once, never changed", status: "pending" }];
    // `files` has a version but no checkpoint ever stored a value for it.
    const versions = { messages: 1, todos: 1, files: 1 };
    let cfg: RunnableConfig = await saver.put(thread, checkpoint(0, { messages, todos }, versions), meta, { messages: 1, todos: 1 });
    const configs = [cfg];
    for (let step = 1; step <= 40; step++) {
      messages = [...messages, new AIMessage({ id: `s${step}`, content: `step ${step}` })];
      versions.messages += 1;
      cfg = await saver.put(cfg, checkpoint(step, { messages, todos }, { ...versions }), meta, { messages: versions.messages });
      configs.push(cfg);
    }
    await saver.putWrites(cfg, [["messages", "pending write"]], "task-last");
    const expected = await saver.getTuple(thread);
    expect((expected?.checkpoint.channel_values.messages as unknown[]).length).toBe(60);

    const other = await otherProcess(t);
    try {
      const resumed = await other.saver.getTuple(thread);
      expect(JSON.parse(JSON.stringify(resumed?.checkpoint))).toEqual(JSON.parse(JSON.stringify(expected?.checkpoint)));
      expect(resumed?.checkpoint.channel_values.todos).toEqual(todos);
      expect(resumed?.pendingWrites).toEqual([["task-last", "messages", "pending write"]]);
      expect(resumed?.parentConfig).toEqual(expected?.parentConfig);

      // A fork off an early checkpoint, written by the first process: the resumed view must
      // notice it lacks that version of `messages` and read what it needs.
      const early = await saver.getTuple(configs[3]);
      const forkVersions = { messages: 4, todos: 1, files: 1, extra: 1 };
      const fork = await saver.put(
        configs[3],
        checkpoint(99, { ...early!.checkpoint.channel_values, extra: "x" }, forkVersions),
        meta,
        { extra: 1 },
      );
      const afterFork = await other.saver.getTuple(thread);
      expect(afterFork?.checkpoint.id).toBe(fork.configurable?.checkpoint_id);
      expect(JSON.stringify(afterFork?.checkpoint.channel_values.messages)).toBe(
        JSON.stringify(early!.checkpoint.channel_values.messages),
      );
      expect(afterFork?.checkpoint.channel_values.extra).toBe("x");
      // Older checkpoints are still there for anyone who asks.
      let n = 0;
      for await (const _ of other.saver.list(thread)) n++;
      expect(n).toBe(42);
    } finally {
      await other.close();
    }
  });

  it("stores an unchanged value again once its message is far behind, so a resume needs only recent messages", async () => {
    const { nc, js, jsm } = t.backbone;
    const saver = new JetStreamCheckpointSaver({ nc, js, jsm, restoreDistance: 10 });
    const thread = { configurable: { thread_id: "far", checkpoint_ns: "" } };
    const files = { "/notes.md": "written once" };
    let cfg = await saver.put(thread, checkpoint(0, { files, n: 0 }, { files: 1, n: 1 }), meta, { files: 1, n: 1 });
    const first = await jsm.direct.getMessage(Names.stateStream, { last_by_subj: `${Names.stateSubjectPrefix}.far.>` });
    for (let i = 1; i <= 30; i++) cfg = await saver.put(cfg, checkpoint(i, { files, n: i }, { files: 1, n: i + 1 }), meta, { n: i + 1 });
    await saver.close();
    // The message that first held `files` is gone: only a copy stored later can answer.
    await jsm.streams.deleteMessage(Names.stateStream, first!.seq);
    const other = await otherProcess(t);
    try {
      const got = await other.saver.getTuple(thread);
      expect(got?.checkpoint.id).toBe(cfg.configurable?.checkpoint_id);
      expect(got?.checkpoint.channel_values).toEqual({ files, n: 30 });
    } finally {
      await other.close();
    }
  });

  it("keeps every acknowledged checkpoint through a kill -9 in the middle of a burst", async () => {
    const saver = t.backbone.checkpointer;
    const writers = 4;
    const perWriter = 60;
    const acked = new Map<string, { thread: string; i: number; parent?: string }>();
    let killed: Promise<void> | undefined;
    const run = async (w: number) => {
      const thread = `burst-${w}`;
      let cfg: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: "" } };
      for (let i = 0; i < perWriter; i++) {
        const parent = cfg.configurable?.checkpoint_id as string | undefined;
        cfg = await saver.put(cfg, checkpoint(i, { item: `w${w}-i${i}`, list: [w, i] }, { item: i + 1, list: i + 1 }), { ...meta, step: i }, { item: i + 1, list: i + 1 });
        await saver.putWrites(cfg, [["item", `write w${w}-i${i}`]], `task-${i}`);
        acked.set(cfg.configurable!.checkpoint_id as string, { thread, i, parent });
        // Kill the server once, mid-burst, while the other writers are in flight.
        if (acked.size === 80 && !killed) killed = t.server.kill().then(() => t.server.restart());
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => run(w)));
    await killed;
    expect(killed).toBeDefined();
    expect(acked.size).toBe(writers * perWriter);

    // A new process reads everything back from the restarted server.
    const other = await otherProcess(t);
    try {
      for (let w = 0; w < writers; w++) {
        const thread = `burst-${w}`;
        const tuples = [];
        for await (const x of other.saver.list({ configurable: { thread_id: thread } })) tuples.push(x);
        expect(tuples.length).toBe(perWriter);
        for (const x of tuples) {
          const want = acked.get(x.checkpoint.id);
          expect(want?.thread).toBe(thread);
          expect(x.checkpoint.channel_values).toEqual({ item: `w${w}-i${want!.i}`, list: [w, want!.i] });
          expect(x.parentConfig?.configurable?.checkpoint_id).toBe(want!.parent);
          expect(x.pendingWrites).toEqual([[`task-${want!.i}`, "item", `write w${w}-i${want!.i}`]]);
        }
      }
    } finally {
      await other.close();
    }
  });

  it("retries a write while the server is away and stores it once", async () => {
    const saver = t.backbone.checkpointer;
    const thread = { configurable: { thread_id: "away", checkpoint_ns: "" } };
    const c1 = await saver.put(thread, checkpoint(1, { n: 1 }, { n: 1 }), meta, { n: 1 });
    const before = (await t.backbone.jsm.streams.info(Names.stateStream)).state.last_seq;
    await t.server.kill();
    // The write starts while nothing listens, and completes once the server is back.
    const pending = saver.put(c1, checkpoint(2, { n: 2 }, { n: 2 }), meta, { n: 2 });
    const outcome = pending.then(() => "stored", (e: unknown) => e);
    await t.server.restart();
    expect(await outcome).toBe("stored");
    const c2 = await pending;
    const info = (await t.backbone.jsm.streams.info(Names.stateStream)).state;
    // put is one message: stored exactly once, however many attempts it took.
    expect(info.last_seq).toBe(before + 1);
    expect((await saver.getTuple(thread))?.checkpoint.id).toBe(c2.configurable?.checkpoint_id);
  });

  it("has every pending write acknowledged before the next checkpoint; one that never is fails that step, which stores nothing", async () => {
    // A stream that refuses messages over 4 KiB: checkpoints fit, the big pending write does not.
    const { nc, js, jsm } = t.backbone;
    await jsm.streams.add({ name: "ACK_TEST", subjects: ["acktest.>"], max_msg_size: 4096, allow_direct: true });
    const saver = new JetStreamCheckpointSaver({ nc, js, jsm, stream: "ACK_TEST", subjectPrefix: "acktest" });
    const strict = new JetStreamCheckpointSaver({ nc, js, jsm, stream: "ACK_TEST", subjectPrefix: "acktest", writeAcks: "each-call" });
    try {
      const thread = { configurable: { thread_id: "acks", checkpoint_ns: "" } };
      const c1 = await saver.put(thread, checkpoint(1, { n: 1 }, { n: 1 }), meta, { n: 1 });
      await saver.putWrites(c1, [["n", "small"]], "task-a");
      // Read your writes: the barrier waits for the acknowledgement.
      expect((await saver.getTuple(thread))?.pendingWrites).toEqual([["task-a", "n", "small"]]);

      await saver.putWrites(c1, [["n", "x".repeat(10_000)]], "task-b"); // published, not yet refused
      const failed = await saver.put(c1, checkpoint(2, { n: 2 }, { n: 2 }), meta, { n: 2 }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(NatsBackboneError);
      expect((failed as NatsBackboneError).code).toBe(NatsErrorCode.WriteFailed);
      expect((failed as Error).message).toMatch(/did not acknowledge the write to acktest\..*\.w\./);
      // The step's checkpoint was not stored, in this process or for anyone reading the stream.
      const fresh = new JetStreamCheckpointSaver({ nc, js, jsm, stream: "ACK_TEST", subjectPrefix: "acktest" });
      for (const s of [saver, fresh]) {
        const latest = await s.getTuple(thread);
        expect(latest?.checkpoint.id).toBe(c1.configurable?.checkpoint_id);
        expect(latest?.pendingWrites).toEqual([["task-a", "n", "small"]]);
      }
      await fresh.close();
      // Reported once: the run can go on (LangGraph retries the step).
      const c2 = await saver.put(c1, checkpoint(2, { n: 2 }, { n: 2 }), meta, { n: 2 });
      expect((await saver.getTuple(thread))?.checkpoint.id).toBe(c2.configurable?.checkpoint_id);

      // With writeAcks "each-call" the refusal comes from putWrites itself.
      const refused = await strict.putWrites(c2, [["n", "y".repeat(10_000)]], "task-c").catch((e: unknown) => e);
      expect((refused as NatsBackboneError).code).toBe(NatsErrorCode.WriteFailed);
      await strict.putWrites(c2, [["n", "fits"]], "task-d");
      expect((await saver.getTuple(thread))?.pendingWrites).toEqual([["task-d", "n", "fits"]]);
    } finally {
      await saver.close();
      await strict.close();
    }
  });

  it("a held thread reads its own writes before their acks; one never stored fails the next put and is gone from reads", async () => {
    const { nc, js, jsm } = t.backbone;
    await jsm.streams.add({ name: "HELD_ACKS", subjects: ["heldacks.>"], max_msg_size: 4096, allow_direct: true });
    const saver = new JetStreamCheckpointSaver({ nc, js, jsm, stream: "HELD_ACKS", subjectPrefix: "heldacks" });
    const release = saver.holdThread("acks");
    try {
      const thread = { configurable: { thread_id: "acks", checkpoint_ns: "" } };
      const c1 = await saver.put(thread, checkpoint(1, { n: 1 }, { n: 1 }), meta, { n: 1 });
      await saver.putWrites(c1, [["n", "small"]], "task-a");
      expect((await saver.getTuple(thread))?.pendingWrites).toEqual([["task-a", "n", "small"]]);
      // A second read waits for the live tail the first one started (the held reads need it).
      expect((await saver.getTuple(thread))?.pendingWrites).toEqual([["task-a", "n", "small"]]);
      const big = "x".repeat(10_000);
      await saver.putWrites(c1, [["n", big]], "task-b"); // the stream will refuse it
      // The read answers from memory at once, with the write still in flight.
      expect((await saver.getTuple(thread))?.pendingWrites).toEqual([
        ["task-a", "n", "small"],
        ["task-b", "n", big],
      ]);
      const failed = await saver.put(c1, checkpoint(2, { n: 2 }, { n: 2 }), meta, { n: 2 }).catch((e: unknown) => e);
      expect((failed as NatsBackboneError).code).toBe(NatsErrorCode.WriteFailed);
      // The lost write is gone: the view was read again from the stream.
      const latest = await saver.getTuple(thread);
      expect(latest?.checkpoint.id).toBe(c1.configurable?.checkpoint_id);
      expect(latest?.pendingWrites).toEqual([["task-a", "n", "small"]]);
    } finally {
      release();
      await saver.close();
    }
  });

  it("close() waits for the writes still pending: another process reads them", async () => {
    const { nc, js, jsm } = t.backbone;
    const saver = new JetStreamCheckpointSaver({ nc, js, jsm });
    const thread = { configurable: { thread_id: "closing", checkpoint_ns: "" } };
    const c1 = await saver.put(thread, checkpoint(1, { n: 1 }, { n: 1 }), meta, { n: 1 });
    await saver.putWrites(c1, [["n", "last words"]], "task-z");
    await saver.close();
    await expect(saver.putWrites(c1, [["n", "too late"]], "task-y")).rejects.toMatchObject({ code: NatsErrorCode.Closed });
    const other = await otherProcess(t);
    try {
      expect((await other.saver.getTuple(thread))?.pendingWrites).toEqual([["task-z", "n", "last words"]]);
    } finally {
      await other.close();
    }
  });

  it("compactThread keeps the latest checkpoint of each namespace with its writes; reads, list and resume go on", async () => {
    const { HumanMessage } = await import("@langchain/core/messages");
    const saver = t.backbone.checkpointer;
    const threadId = "compact-me";
    const latest = new Map<string, RunnableConfig>();
    for (const ns of ["", "child:1"]) {
      let messages: unknown[] = Array.from({ length: 12 }, (_, i) => new HumanMessage({ id: `m${i}`, content: `message ${i}` }));
      let cfg: RunnableConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns } };
      // `files` is stored once, in the first checkpoint; `messages` grows as deltas.
      cfg = await saver.put(cfg, checkpoint(0, { messages, files: { a: 1 } }, { messages: 1, files: 1 }), meta, { messages: 1, files: 1 });
      for (let step = 1; step <= 20; step++) {
        messages = [...messages, new HumanMessage({ id: `s${step}`, content: `step ${step}` })];
        cfg = await saver.put(cfg, checkpoint(step, { messages, files: { a: 1 } }, { messages: step + 1, files: 1 }), meta, { messages: step + 1 });
        await saver.putWrites(cfg, [["messages", `write ${step}`]], `task-${step}`);
      }
      await saver.putWrites(cfg, [["__error__", "boom"]], "task-special");
      latest.set(ns, cfg);
    }
    const before = new Map<string, unknown>();
    for (const ns of latest.keys()) before.set(ns, JSON.parse(JSON.stringify(await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: ns } }))));
    const stored = async () => (await t.backbone.jsm.streams.info(Names.stateStream, { subjects_filter: ">" })).state.messages;
    const messagesBefore = await stored();

    expect(await saver.compactThread(threadId)).toEqual({ removed: 40 });
    expect(await stored()).toBeLessThan(messagesBefore / 5);
    // Nothing left to drop: compacting again changes nothing.
    expect(await saver.compactThread(threadId)).toEqual({ removed: 0 });

    const other = await otherProcess(t);
    try {
      for (const s of [saver, other.saver]) {
        for (const [ns, cfg] of latest) {
          const thread = { configurable: { thread_id: threadId, checkpoint_ns: ns } };
          const got = await s.getTuple(thread);
          expect(JSON.parse(JSON.stringify(got))).toEqual(before.get(ns));
          expect(got?.pendingWrites).toContainEqual(["task-special", "__error__", "boom"]);
          const listed = [];
          for await (const x of s.list(thread, { limit: 1 })) listed.push(x.checkpoint.id);
          expect(listed).toEqual([cfg.configurable?.checkpoint_id]);
          const all = [];
          for await (const x of s.list(thread)) all.push(x.checkpoint.id);
          expect(all).toEqual([cfg.configurable?.checkpoint_id]);
        }
      }
      // The run resumes from the kept checkpoint, in another process.
      const resumed = (await other.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } }))!;
      const messages = [...(resumed.checkpoint.channel_values.messages as unknown[]), new HumanMessage({ id: "after", content: "after compaction" })];
      const next = await other.saver.put(resumed.config, checkpoint(99, { messages, files: { a: 1 } }, { messages: 99, files: 1 }), meta, { messages: 99 });
      const read = await saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
      expect(read?.checkpoint.id).toBe(next.configurable?.checkpoint_id);
      expect((read?.checkpoint.channel_values.messages as unknown[]).length).toBe(33);
      expect(read?.checkpoint.channel_values.files).toEqual({ a: 1 });
    } finally {
      await other.close();
    }
    await expect(saver.compactThread(undefined as unknown as string)).rejects.toMatchObject({ code: NatsErrorCode.InvalidArgument });
  });

  it("gives clear errors for bad input", async () => {
    const saver = t.backbone.checkpointer;
    const e1 = await saver.putWrites({ configurable: { thread_id: "x" } }, [["a", 1]], "t").catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e1, NatsErrorCode.InvalidArgument)).toBe(true);
    expect((e1 as Error).message).toContain("checkpoint_id");
    const e2 = await saver.put({ configurable: {} }, checkpoint(1, {}, {}), meta, {}).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e2, NatsErrorCode.InvalidArgument)).toBe(true);
    const e3 = await saver.getTuple({ configurable: { thread_id: { not: "a string" } } }).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(e3, NatsErrorCode.InvalidArgument)).toBe(true);
    expect((e3 as Error).message).toContain("thread_id must be a string");
  });
});
