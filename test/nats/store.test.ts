import { StoreBackend } from "deepagents";
import { Kvm } from "@nats-io/kv";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { JetStreamStore } from "../../src/nats/store.ts";
import { Names } from "../../src/nats/streams.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

describe("JetStreamStore", () => {
  let t: TestNats;
  beforeAll(async () => {
    t = await startTestNats();
  });
  afterAll(async () => {
    await t.close();
  });

  /** Another store instance over the same bucket, as a second process would open it. */
  async function freshStore(): Promise<JetStreamStore> {
    const kv = await new Kvm(t.backbone.js).open(Names.memoryBucket);
    return new JetStreamStore({ kv, js: t.backbone.js, bucket: Names.memoryBucket });
  }

  it("puts, gets, updates and deletes items, keeping createdAt", async () => {
    const store = t.backbone.store;
    await store.put(["users", "u1"], "prefs", { theme: "dark", bytes: new Uint8Array([1, 2, 3]) });
    const first = await store.get(["users", "u1"], "prefs");
    expect(first?.value).toEqual({ theme: "dark", bytes: new Uint8Array([1, 2, 3]) });
    expect(first?.namespace).toEqual(["users", "u1"]);
    await store.put(["users", "u1"], "prefs", { theme: "light" });
    const second = await (await freshStore()).get(["users", "u1"], "prefs");
    expect(second?.value).toEqual({ theme: "light" });
    expect(second?.createdAt.getTime()).toBe(first?.createdAt.getTime());
    expect(second!.updatedAt.getTime()).toBeGreaterThanOrEqual(first!.updatedAt.getTime());
    await store.delete(["users", "u1"], "prefs");
    expect(await store.get(["users", "u1"], "prefs")).toBeNull();
    expect(await store.get(["users", "nobody"], "prefs")).toBeNull();
  });

  it("accepts namespaces and keys with characters KV keys refuse", async () => {
    const store = t.backbone.store;
    // LangGraph itself refuses periods in labels; everything else KV keys refuse is exercised.
    const ns = ["threads", "user@example-com/thread #1 ü*>", "x y"];
    const key = "notes/2026 draft.md";
    await store.put(ns, key, { text: "hello" });
    expect((await (await freshStore()).get(ns, key))?.value).toEqual({ text: "hello" });
    const found = await store.search(["threads", "user@example-com/thread #1 ü*>"]);
    expect(found.map((i) => [i.namespace, i.key])).toEqual([[ns, key]]);
  });

  it("searches by namespace prefix, filter and query; lists namespaces", async () => {
    const store = t.backbone.store;
    await store.put(["docs", "a"], "1", { kind: "paper", year: 2021, title: "Graph agents" });
    await store.put(["docs", "a"], "2", { kind: "paper", year: 2024, title: "Sandboxes" });
    await store.put(["docs", "b", "deep"], "3", { kind: "note", year: 2024, title: "JetStream notes" });
    await store.put(["other"], "4", { kind: "paper", year: 2024 });

    const docs = await store.search(["docs"], { limit: 100 });
    expect(docs.map((i) => i.key).sort()).toEqual(["1", "2", "3"]);
    const papers = await store.search(["docs"], { filter: { kind: "paper" } });
    expect(papers.map((i) => i.key).sort()).toEqual(["1", "2"]);
    const recent = await store.search(["docs"], { filter: { year: { $gte: 2024 } } });
    expect(recent.map((i) => i.key).sort()).toEqual(["2", "3"]);
    const byQuery = await store.search(["docs"], { query: "jetstream" });
    expect(byQuery.map((i) => i.key)).toEqual(["3"]);
    expect((await store.search(["docs"], { limit: 1, offset: 1 })).length).toBe(1);
    expect(await store.search(["docs", "zzz"])).toEqual([]);

    const all = await store.listNamespaces({ prefix: ["docs"] });
    expect(all).toEqual([["docs", "a"], ["docs", "b", "deep"]]);
    expect(await store.listNamespaces({ prefix: ["docs"], maxDepth: 2 })).toEqual([["docs", "a"], ["docs", "b"]]);
    expect(await store.listNamespaces({ suffix: ["deep"] })).toEqual([["docs", "b", "deep"]]);
    expect(await store.listNamespaces({ prefix: ["docs", "*"], limit: 1 })).toEqual([["docs", "a"]]);
  });

  it("rejects namespaces that cannot name anything", async () => {
    const err = await t.backbone.store.put([], "k", { a: 1 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/namespace/i);
    const err2 = await t.backbone.store.get(["ok", ""], "k").catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/namespace/i);
    // Operations that bypass BaseStore's own checks get ours.
    const err3 = await t.backbone.store.batch([{ namespace: ["ok", ""], key: "k" }]).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(err3, NatsErrorCode.InvalidName)).toBe(true);
  });

  it("backs deepagents' StoreBackend: a file written is read back through a new store", async () => {
    const writer = new StoreBackend({ store: t.backbone.store, namespace: ["memories"] });
    const res = await writer.write("/notes.md", "# Findings\n- JetStream keeps memory\n");
    expect(res.error).toBeUndefined();
    const reader = new StoreBackend({ store: await freshStore(), namespace: ["memories"] });
    const read = await reader.read("/notes.md");
    expect(JSON.stringify(read)).toContain("JetStream keeps memory");
    const listing = await reader.ls("/");
    expect(JSON.stringify(listing)).toContain("notes.md");
  });
});
