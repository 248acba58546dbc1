/**
 * The agent's tree cache (listings and contents kept between requests) never answers from a tree
 * that changed: every change below is made behind the agent's back (straight on the disk, or by a
 * command), right after a request that filled the cache, and the very next request must see it.
 */
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
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

const names = async (path: string): Promise<string[]> => (await c.request("ls", { path }, {})).value.entries.map((e) => e.path);
const grepLines = async (pattern: string, path: string): Promise<string[]> =>
  (await c.request("grep", { pattern, path }, {})).value.matches.map((m) => `${m.path}:${m.line}:${m.text}`);
const globPaths = async (pattern: string, path: string): Promise<string[]> => (await c.request("glob", { pattern, path }, {})).value.paths.map((p) => p.path);
const sh = (shell: string) => c.exec({ shell }, {});

describe("the guest's tree cache", () => {
  it("sees files written, changed and deleted on the disk right after a cached answer", async () => {
    await mkdir(agent.real("/workspace/t1/sub"), { recursive: true });
    await writeFile(agent.real("/workspace/t1/sub/a.txt"), "one\n");
    expect(await grepLines("one", "/workspace/t1")).toEqual(["/workspace/t1/sub/a.txt:1:one"]);
    expect(await grepLines("one", "/workspace/t1")).toEqual(["/workspace/t1/sub/a.txt:1:one"]); // cached

    await writeFile(agent.real("/workspace/t1/sub/a.txt"), "two\none again\n");
    expect(await grepLines("one", "/workspace/t1")).toEqual(["/workspace/t1/sub/a.txt:2:one again"]);
    const sized = (await c.request("ls", { path: "/workspace/t1/sub" }, {})).value.entries;
    expect(sized.map((e) => [e.path, e.size])).toEqual([["/workspace/t1/sub/a.txt", 14]]);

    await writeFile(agent.real("/workspace/t1/sub/b.txt"), "one more\n");
    expect(await names("/workspace/t1/sub")).toEqual(["/workspace/t1/sub/a.txt", "/workspace/t1/sub/b.txt"]);
    expect(await globPaths("**/*.txt", "/workspace/t1")).toEqual(["/workspace/t1/sub/a.txt", "/workspace/t1/sub/b.txt"]);

    await rm(agent.real("/workspace/t1/sub/a.txt"));
    expect(await globPaths("**/*.txt", "/workspace/t1")).toEqual(["/workspace/t1/sub/b.txt"]);
    expect(await grepLines("one", "/workspace/t1")).toEqual(["/workspace/t1/sub/b.txt:1:one more"]);
  });

  it("read takes a listed file's size from the cache, and it is current: an empty file that got content", async () => {
    await mkdir(agent.real("/workspace/t6"), { recursive: true });
    await writeFile(agent.real("/workspace/t6/notes.txt"), "");
    expect((await c.request("ls", { path: "/workspace/t6" }, {})).value.entries.map((e) => e.size)).toEqual([0]);
    await writeFile(agent.real("/workspace/t6/notes.txt"), "now it has words\n");
    const r = await c.request("read", { path: "/workspace/t6/notes.txt", lines: { offset: 0, limit: 10 } }, {});
    expect(r.value).toMatchObject({ size: 17, totalLines: 1, blank: false });
    expect(Buffer.concat(r.data.map((d) => d.bytes)).toString()).toBe("now it has words\n");
    await expect(c.request("read", { path: "/workspace/t6" }, {})).rejects.toMatchObject({ code: "is_directory" });
  });

  it("reads a listed file (one native call) exactly as an unlisted one (the byte path), for every window", async () => {
    const contents: Record<string, Buffer> = {
      "plain.txt": Buffer.from("one\ntwo\nthree\n"),
      "no-final-newline.txt": Buffer.from("one\ntwo\nthree"),
      "empty.txt": Buffer.alloc(0),
      "blank.txt": Buffer.from(" \t\n\r\n\v\f \n"),
      "unicode.txt": Buffer.from("héllo wörld\n日本語の行\n🦜 parrot\n"),
      "crlf.txt": Buffer.from("a\r\nb\r\nc\r\n"),
      "invalid-utf8.txt": Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a, 0x62]),
      "replacement-char.txt": Buffer.from("a\n\uFFFD\nb\n"),
      "only-newlines.txt": Buffer.from("\n\n\n"),
    };
    const windows = [
      [0, 500], [0, 1], [1, 1], [1, 2], [2, 10], [3, 1], [5, 2], [0, 0],
    ];
    const readAll = async (dir: string) => {
      const out: unknown[] = [];
      for (const name of Object.keys(contents)) {
        for (const [offset, limit] of windows) {
          const r = await c.request("read", { path: `${dir}/${name}`, lines: { offset, limit } }, {});
          const { mtimeMs: _m, ctimeMs: _c, ...value } = r.value;
          out.push({ name, offset, limit, value, bytes: Buffer.concat(r.data.map((d) => d.bytes)).toString("hex") });
        }
      }
      return out;
    };
    for (const dir of ["unlisted", "listed"]) {
      await mkdir(agent.real(`/workspace/t7/${dir}`), { recursive: true });
      for (const [name, bytes] of Object.entries(contents)) await writeFile(agent.real(`/workspace/t7/${dir}/${name}`), bytes);
    }
    await c.request("ls", { path: "/workspace/t7/listed" }, {});
    const byBytes = await readAll("/workspace/t7/unlisted");
    const byText = await readAll("/workspace/t7/listed");
    expect(byText).toEqual(byBytes);
    // And the byte path is right: plain.txt lines 1..2 are "two\nthree\n" of 3 lines.
    expect(byBytes).toContainEqual({ name: "plain.txt", offset: 1, limit: 2, value: { size: 14, totalLines: 3, blank: false }, bytes: Buffer.from("two\nthree\n").toString("hex") });
  });

  it("follows a directory moved away and another made in its place, also when an ancestor moves", async () => {
    await mkdir(agent.real("/workspace/t2/a/b"), { recursive: true });
    await writeFile(agent.real("/workspace/t2/a/b/f.txt"), "old\n");
    expect(await grepLines("old", "/workspace/t2/a/b")).toEqual(["/workspace/t2/a/b/f.txt:1:old"]);

    // Only /workspace/t2/a/b was listed; its ancestor moves, and a new b appears at the old path.
    await rename(agent.real("/workspace/t2/a"), agent.real("/workspace/t2/moved"));
    await mkdir(agent.real("/workspace/t2/a/b"), { recursive: true });
    await writeFile(agent.real("/workspace/t2/a/b/f.txt"), "new\n");
    expect(await grepLines("old", "/workspace/t2/a/b")).toEqual([]);
    expect(await grepLines("new", "/workspace/t2/a/b")).toEqual(["/workspace/t2/a/b/f.txt:1:new"]);
    expect(await grepLines("old", "/workspace/t2")).toEqual(["/workspace/t2/moved/b/f.txt:1:old"]);

    await rm(agent.real("/workspace/t2/a"), { recursive: true });
    expect(await globPaths("**/f.txt", "/workspace/t2")).toEqual(["/workspace/t2/moved/b/f.txt"]);
    await expect(c.request("ls", { path: "/workspace/t2/a/b" }, {})).rejects.toMatchObject({ code: "file_not_found" });
  });

  it("forgets contents after a command, which may have written through a hard link or mmap", async () => {
    // Commands run as the sandbox user and start in /workspace: they make the files they change.
    expect((await sh("mkdir -p t3/x t3/y && echo before > t3/x/f.txt && ln t3/x/f.txt t3/y/g.txt")).exitCode).toBe(0);
    expect(await grepLines("before", "/workspace/t3/x")).toEqual(["/workspace/t3/x/f.txt:1:before"]);
    // Written through the other name: no event reaches x's watcher, but a command ran.
    expect((await sh("echo after > t3/y/g.txt")).exitCode).toBe(0);
    expect(await grepLines("after", "/workspace/t3/x")).toEqual(["/workspace/t3/x/f.txt:1:after"]);
  });

  it("answers the same for a symlinked directory, which it lists but never enters", async () => {
    await mkdir(agent.real("/workspace/t4/real"), { recursive: true });
    await writeFile(agent.real("/workspace/t4/real/n.txt"), "needle\n");
    await symlink(agent.real("/workspace/t4/real"), agent.real("/workspace/t4/link"));
    const before = await names("/workspace/t4");
    expect(before).toEqual(["/workspace/t4/link", "/workspace/t4/real"]);
    expect(await grepLines("needle", "/workspace/t4")).toEqual(["/workspace/t4/real/n.txt:1:needle"]);
    await rm(agent.real("/workspace/t4/link"));
    await writeFile(agent.real("/workspace/t4/real/n.txt"), "no match\n");
    expect(await names("/workspace/t4")).toEqual(["/workspace/t4/real"]);
    expect(await grepLines("needle", "/workspace/t4")).toEqual([]);
  });

  it("sees a file a command left running keeps writing (a background process outlives its command)", async () => {
    expect((await sh("mkdir t5 && echo start > t5/log.txt")).exitCode).toBe(0);
    expect(await grepLines("tick", "/workspace/t5")).toEqual([]);
    // setsid: out of the command's process group, so it survives the command's end; the command
    // returns once the child has its own session (it wrote its pid).
    const started = await sh("setsid sh -c 'echo $$ > t5/pid; sleep 0.3; echo tick >> t5/log.txt' > /dev/null 2>&1 < /dev/null & while [ ! -s t5/pid ]; do :; done");
    expect(started.exitCode).toBe(0);
    expect(await grepLines("tick", "/workspace/t5")).toEqual([]); // refills the cache after the command
    const deadline = Date.now() + 10_000;
    let seen: string[] = [];
    while (Date.now() < deadline && seen.length === 0) seen = await grepLines("tick", "/workspace/t5");
    expect(seen).toEqual(["/workspace/t5/log.txt:2:tick"]);
  });
});
