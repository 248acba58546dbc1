/**
 * The agent's tree cache (listings and contents kept between requests) never answers from a tree
 * that changed: every change below is made behind the agent's back (straight on the disk, or by a
 * command), right after a request that filled the cache, and the very next request must see it.
 */
import { lstat, mkdir, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
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

describe("the change log behind the workspace sync's manifest", () => {
  type Files = Map<string, string>;
  const key = (f: { size: number; mtimeMs: number }) => `${f.size}@${f.mtimeMs}`;

  /** The regular files under `view`, read straight from the disk (the oracle). */
  async function onDisk(view: string): Promise<Files> {
    const out: Files = new Map();
    const visit = async (v: string): Promise<void> => {
      for (const d of await readdir(agent.real(v), { withFileTypes: true })) {
        const p = `${v}/${d.name}`;
        if (d.isDirectory()) await visit(p);
        else if (d.isFile()) out.set(p, key(await lstat(agent.real(p))));
      }
    };
    await visit(view);
    return out;
  }

  /** A small deterministic PRNG (mulberry32): the same run every time. */
  function rng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it("answers with what changed since its token, and that applied to the last answer is the disk, over random changes", async () => {
    const rel = (view: string): string => view.slice("/workspace/".length); // commands start in /workspace
    const top = "/workspace/log";
    await mkdir(agent.real(`${top}/a/b`), { recursive: true });
    await writeFile(agent.real(`${top}/a/b/one.txt`), "1");
    const full = await c.request("manifest", { path: top });
    expect(full.value.scopes).toBeUndefined();
    const state: Files = new Map(full.value.files.map((f) => [f.path, key(f)]));
    let token = full.value.token!;
    const random = rng(13);
    const pick = <T,>(xs: T[]): T | undefined => xs[Math.floor(random() * xs.length)];
    let fromLog = 0;
    for (let round = 0; round < 40; round++) {
      const disk = await onDisk(top);
      const files = [...disk.keys()];
      const dirs = [...new Set(files.map((f) => f.slice(0, f.lastIndexOf("/"))))].concat(top);
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        const r = random();
        const dir = pick(dirs)!;
        const file = pick(files);
        const n = `${round}-${k}`;
        const change = async (): Promise<void> => {
          if (r < 0.25) await writeFile(agent.real(`${dir}/new-${n}.txt`), "x".repeat(1 + Math.floor(random() * 50)));
          else if (r < 0.35 && file) await writeFile(agent.real(file), "changed ".repeat(1 + Math.floor(random() * 9)));
          else if (r < 0.45 && file) await rm(agent.real(file), { force: true });
          else if (r < 0.55) {
            await mkdir(agent.real(`${dir}/d${n}/deep`), { recursive: true });
            for (let i = 0; i < 1 + Math.floor(random() * 80); i++) await writeFile(agent.real(`${dir}/d${n}/${i % 2 ? "deep/" : ""}f${i}`), `${i}`);
          } else if (r < 0.62 && dir !== top) await rm(agent.real(dir), { recursive: true, force: true });
          else if (r < 0.72 && dir !== top) await rename(agent.real(dir), agent.real(`${top}/moved-${n}`)).catch(() => {});
          else if (r < 0.8 && file) await rename(agent.real(file), agent.real(`${dir}/renamed-${n}`)).catch(() => {});
          else if (r < 0.88 && file) {
            await rm(agent.real(file), { force: true });
            await symlink(agent.real(`${top}/a`), agent.real(file)).catch(() => {});
          } else if (r < 0.9) await sh(`mkdir -p log/c${n} && for i in $(seq 1 70); do echo $i > log/c${n}/f$i; done`);
          else if (r < 0.93) await sh(`for f in $(find log -type f | head -70); do echo more >> "$f"; done`);
          // Hard links, made and written through by commands (a write through one name sends no
          // event to the other's directory): now and then in the same command.
          else if (r < 0.96 && file) await sh(`ln "${rel(file)}" "${rel(dir)}/ln-${n}"${random() < 0.5 ? ` && echo same >> "${rel(dir)}/ln-${n}"` : ""}`);
          else {
            const linked = (await sh("find log -type f -links +1 | head -1")).output.toString().trim();
            if (linked) await sh(`echo through >> "${linked}"`);
          }
        };
        // A path picked may be gone (or a folder now) after an earlier change of this round: skipped.
        await change().catch((err: NodeJS.ErrnoException) => {
          if (!["ENOENT", "EISDIR", "ENOTDIR", "EEXIST"].includes(err.code ?? "")) throw err;
        });
      }
      const answer = await c.request("manifest", { path: top, since: token });
      if (answer.value.scopes) {
        fromLog++;
        // What a scope had and no longer lists is gone; what it lists is current.
        for (const p of [...state.keys()]) if (answer.value.scopes.some((s) => p === s || p.startsWith(`${s}/`))) state.delete(p);
      } else state.clear();
      for (const f of answer.value.files) state.set(f.path, key(f));
      token = answer.value.token!;
      expect(new Map([...state].sort()), `round ${round}`).toEqual(new Map([...(await onDisk(top))].sort()));
    }
    expect(fromLog).toBeGreaterThanOrEqual(30); // a full listing only when the log could not say (a new link)
  });

  it("answers a token it does not know (another agent's, an old one) with a full listing and a new token", async () => {
    await mkdir(agent.real("/workspace/log2"), { recursive: true });
    await writeFile(agent.real("/workspace/log2/f"), "f");
    const first = await c.request("manifest", { path: "/workspace/log2" });
    const next = await c.request("manifest", { path: "/workspace/log2", since: first.value.token });
    expect(next.value).toMatchObject({ scopes: [], files: [] }); // nothing changed
    for (const stale of ["nope", first.value.token!]) {
      const r = await c.request("manifest", { path: "/workspace/log2", since: stale });
      expect(r.value.scopes).toBeUndefined();
      expect(r.value.files.map((f) => f.path)).toEqual(["/workspace/log2/f"]);
      expect(r.value.token).toBeDefined();
    }
  });
});
