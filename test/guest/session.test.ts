/**
 * A session of the real bundled agent (on the host, over a unix socket) seen through the
 * GuestClient: arguments checked by the op's schema before any handler runs, results bigger than
 * a frame header coming back whole, errors of any length arriving.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { MAX_ERROR_MESSAGE } from "../../src/protocol/index.ts";
import { MAX_FRAME_HEADER } from "../../src/protocol/limits.ts";
import type { GuestClient } from "../../src/sandbox/guest-client.ts";
import { startHostAgent, type HostAgent } from "./host-agent.ts";

let agent: HostAgent;
let c: GuestClient;

beforeAll(async () => {
  agent = await startHostAgent();
  c = await agent.connect();
});
afterAll(async () => {
  await agent?.close();
});

describe("arguments", () => {
  it("are checked against the op's schema, naming the bad field", async () => {
    await expect(c.request("read", { path: 7 } as never)).rejects.toMatchObject({ code: "bad_request", message: "read: args.path must be a string" });
    await expect(c.request("glob", { pattern: "*", limit: 0 })).rejects.toMatchObject({ code: "bad_request", message: "glob: args.limit must be an integer ≥ 1" });
    // The host refuses an op the protocol does not have before sending it.
    await expect(c.request("nonsense" as never, {} as never)).rejects.toMatchObject({ code: "bad_request", message: 'unknown op "nonsense"' });
  });

  it("a refused request's body is dropped and the session goes on", async () => {
    await expect(c.request("write", { path: "/workspace/x", size: "3" } as never, { body: Buffer.from("abc") })).rejects.toMatchObject({ code: "bad_request" });
    await c.request("write", { path: "/workspace/x", size: 3 }, { body: Buffer.from("xyz") });
    expect((await c.request("read", { path: "/workspace/x" })).data.map((d) => d.bytes.toString()).join("")).toBe("xyz");
  });
});

describe("results bigger than a frame header", () => {
  it("ls of a 4,000-entry directory comes back whole", async () => {
    const dir = agent.real("/workspace/wide");
    await mkdir(dir, { recursive: true });
    const names = Array.from({ length: 4000 }, (_, i) => `an-entry-with-a-rather-long-name-${String(i).padStart(5, "0")}.txt`);
    await Promise.all(names.map((n) => writeFile(`${dir}/${n}`, "x")));
    const { value } = await c.request("ls", { path: "/workspace/wide" });
    expect(JSON.stringify(value).length).toBeGreaterThan(MAX_FRAME_HEADER);
    expect(value.entries.map((e) => e.path)).toEqual(names.map((n) => `/workspace/wide/${n}`));
    expect(value.truncated ?? false).toBe(false);
  });

  it("glob over 10,000 files comes back whole", async () => {
    const root = agent.real("/workspace/many");
    for (let d = 0; d < 10; d++) {
      await mkdir(`${root}/d${d}`, { recursive: true });
      await Promise.all(Array.from({ length: 1000 }, (_, i) => writeFile(`${root}/d${d}/file-${i}.md`, "")));
    }
    const { value } = await c.request("glob", { pattern: "**/*.md", path: "/workspace/many" });
    expect(value.truncated).toBe(false);
    expect(value.paths).toHaveLength(10_000);
    expect(new Set(value.paths.map((p) => p.path)).size).toBe(10_000);
    expect(value.paths.map((p) => p.path)).toContain("/workspace/many/d9/file-999.md");
  });
});

it("arguments bigger than a frame header travel in the body (an edit of a big block)", async () => {
  const oldBlock = `${"a".repeat(400_000)}\n`;
  const newBlock = `${"b€".repeat(200_000)}\n`;
  await writeFile(agent.real("/workspace/big.txt"), `head\n${oldBlock}tail\n`);
  const r = await c.request("edit", { path: "/workspace/big.txt", oldString: oldBlock, newString: newBlock });
  expect(r.value.occurrences).toBe(1);
  expect(await readFile(agent.real("/workspace/big.txt"), "utf8")).toBe(`head\n${newBlock}tail\n`);
  // With a body of its own after them: a write whose (odd) path is longer than a header.
  const long = `/workspace/${"d/".repeat(150_000)}f.txt`;
  await expect(c.request("write", { path: long, size: 3 }, { body: Buffer.from("abc") })).rejects.toMatchObject({ code: "invalid_path" });
  await c.request("write", { path: "/workspace/after.txt", size: 2 }, { body: Buffer.from("ok") });
});

it("an error quoting a huge argument arrives, its message cut to fit", async () => {
  await writeFile(agent.real("/workspace/small.txt"), "hello\n");
  const oldString = "y".repeat(1024 * 1024);
  const err = await c.request("edit", { path: "/workspace/small.txt", oldString, newString: "z" }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: "no_match", message: expect.stringContaining("(message cut)") });
  expect((err as Error).message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE);
});
