/**
 * ls, glob, grep and manifest over trees big enough to take the native paths (one `find` for the
 * tree, GNU `grep -F` over many uncached files) answer exactly what the agent's own JS paths answer
 * on small trees: same order, same lines, symlinks never entered, every result within its budget
 * with `truncated` and a right `total`. The real bundled agent on the host (see host-agent.ts);
 * the same ops on real VMs at 100,000 files: test/sandbox/workspace-scale.test.ts.
 */
import { mkdir, symlink, writeFile } from "node:fs/promises";
import type { GuestClient } from "../../src/sandbox/guest-client.ts";
import { startHostAgent, type HostAgent } from "./host-agent.ts";

let agent: HostAgent;
let c: GuestClient;

/** 40 directories × 60 files: "needle" on line 2 of every third file, plus odd cases. */
const DIRS = 40;
const PER_DIR = 60;

beforeAll(async () => {
  agent = await startHostAgent();
  c = await agent.connect();
  const top = agent.real("/workspace/big");
  for (let d = 0; d < DIRS; d++) {
    await mkdir(`${top}/d${d}`, { recursive: true });
    await Promise.all(
      Array.from({ length: PER_DIR }, (_, f) => writeFile(`${top}/d${d}/f${f}.txt`, f % 3 === 0 ? `head ${d}/${f}\r\nthe needle ${d}/${f}\r\n` : `plain ${d}/${f}\n`)),
    );
  }
  // Not to be entered: a symlinked directory (to a tree with matches) and a symlinked file.
  await mkdir(agent.real("/workspace/outside"), { recursive: true });
  await writeFile(agent.real("/workspace/outside/secret.txt"), "needle outside\n");
  await symlink(agent.real("/workspace/outside"), `${top}/d0/link-dir`);
  await symlink(agent.real("/workspace/outside/secret.txt"), `${top}/d0/link-file.txt`);
  await writeFile(`${top}/d1/binary.txt`, Buffer.concat([Buffer.from("needle\n"), Buffer.alloc(10), Buffer.from("needle\n")]));
  await writeFile(`${top}/d1/new\nline.txt`, "a needle in a name with a newline\n");
  await writeFile(`${top}/d2/long.txt`, `needle${"x".repeat(50_000)}\n`);
  // Too big for the agent's content cache: this tree is searched by GNU grep.
  await writeFile(`${top}/d3/huge.txt`, `${"y".repeat(100)}\n`.repeat(20_000) + "needle at the end\n");
  // 300 small files and nothing big: read into the cache natively, then searched in the agent.
  await mkdir(agent.real("/workspace/many"), { recursive: true });
  await Promise.all(Array.from({ length: 300 }, (_, i) => writeFile(agent.real(`/workspace/many/m${i}.txt`), i % 2 ? `odd ${i}\n` : `even ${i}\nneedle ${i}\n`)));
  // One flat directory of 1,000 entries (listed natively by ls).
  await mkdir(`${top}/flat`);
  await Promise.all(Array.from({ length: 1000 }, (_, i) => writeFile(`${top}/flat/e${String(i).padStart(4, "0")}`, "")));
});
afterAll(async () => {
  await agent?.close();
});

const needleFiles = (): string[] => {
  const out: string[] = [];
  for (let d = 0; d < DIRS; d++) for (let f = 0; f < PER_DIR; f += 3) out.push(`/workspace/big/d${d}/f${f}.txt`);
  return out;
};

describe("file ops over a tree that takes the native paths", () => {
  it("grep: every match in walk order, CR stripped, long lines cut, binary files and symlinks skipped", async () => {
    const { value } = await c.request("grep", { pattern: "needle", path: "/workspace/big" }, {});
    const expected = [
      ...needleFiles().map((p) => ({ path: p, line: 2, text: `the needle ${p.split("/").slice(-2).join("/").replace(".txt", "").replace("d", "").replace("f", "")}` })),
    ];
    // Walk order: d0, d1, d10, d11, ... (names sorted), files f0, f12, f15, ... within each.
    const byPath = new Map(value.matches.map((m) => [m.path, m]));
    for (const e of expected) expect(byPath.get(e.path), e.path).toMatchObject({ line: 2, text: e.text });
    expect(byPath.get("/workspace/big/d1/new\nline.txt")).toMatchObject({ line: 1, text: "a needle in a name with a newline" });
    expect(byPath.get("/workspace/big/d2/long.txt")!.text).toHaveLength(4000);
    expect(byPath.get("/workspace/big/d3/huge.txt")).toMatchObject({ line: 20_001, text: "needle at the end" });
    expect(value.matches.some((m) => m.path.includes("binary") || m.path.includes("link") || m.path.includes("outside"))).toBe(false);
    expect(value.matches).toHaveLength(expected.length + 3);
    const paths = value.matches.map((m) => m.path);
    expect(paths).toEqual([...paths].sort(walkOrder));
    expect(value).toMatchObject({ truncated: false, total: expected.length + 3 });
    // Asked again (listings now cached, contents still not): the same answer.
    expect((await c.request("grep", { pattern: "needle", path: "/workspace/big" }, {})).value).toEqual(value);
  });

  it("grep over many small uncached files (read into the cache natively): every match, and a later change is seen", async () => {
    const expected = Array.from({ length: 150 }, (_, k) => `/workspace/many/m${2 * k}.txt:2:needle ${2 * k}`).sort(walkOrderOfLine);
    const lines = async () => (await c.request("grep", { pattern: "needle", path: "/workspace/many" }, {})).value.matches.map((m) => `${m.path}:${m.line}:${m.text}`);
    expect(await lines()).toEqual(expected);
    expect(await lines()).toEqual(expected); // from memory now
    await writeFile(agent.real("/workspace/many/m1.txt"), "now a needle too\n");
    await writeFile(agent.real("/workspace/many/m0.txt"), "none\n");
    const after = await lines();
    expect(after).toContain("/workspace/many/m1.txt:1:now a needle too");
    expect(after.some((l) => l.startsWith("/workspace/many/m0.txt:"))).toBe(false);
    expect(after).toHaveLength(150);
  });

  it("grep: cut at maxCount with the total counted on; a glob filters by base name", async () => {
    const { value } = await c.request("grep", { pattern: "needle", path: "/workspace/big", maxCount: 7 }, {});
    expect(value.matches).toHaveLength(7);
    expect(value).toMatchObject({ truncated: true, cutBy: "items", total: needleFiles().length + 3 });
    const filtered = await c.request("grep", { pattern: "needle", path: "/workspace/big", glob: "f3*.txt" }, {});
    expect(filtered.value.matches.map((m) => m.path).sort()).toEqual(needleFiles().filter((p) => /\/f3\d*\.txt$/.test(p)).sort());
  });

  it("glob: every file, symlinks reported by name but never entered; cut at its limit with the total", async () => {
    const { value } = await c.request("glob", { pattern: "**/*.txt", path: "/workspace/big" }, {});
    const names = value.paths.map((p) => p.path);
    expect(names).toHaveLength(DIRS * PER_DIR + 4);
    expect(names).not.toContain("/workspace/big/d0/link-dir/secret.txt");
    expect(names).not.toContain("/workspace/big/d0/link-file.txt"); // a symlink, not a file
    const cut = await c.request("glob", { pattern: "**/*.txt", path: "/workspace/big", limit: 100 }, {});
    expect(cut.value).toMatchObject({ truncated: true, cutBy: "items", total: DIRS * PER_DIR + 4 });
    expect(cut.value.paths).toHaveLength(100);
  });

  it("ls of a 1,000-entry directory: all of them, sorted; cut at its limit with the total", async () => {
    const { value } = await c.request("ls", { path: "/workspace/big/flat" }, {});
    expect(value.entries.map((e) => e.path)).toEqual(Array.from({ length: 1000 }, (_, i) => `/workspace/big/flat/e${String(i).padStart(4, "0")}`));
    expect(value.entries.every((e) => e.type === "file" && e.size === 0)).toBe(true);
    const cut = await c.request("ls", { path: "/workspace/big/flat", limit: 10 }, {});
    expect(cut.value).toMatchObject({ truncated: true, total: 1000 });
    expect(cut.value.entries).toHaveLength(10);
  });

  it("sees a change made right after a native listing was cached", async () => {
    await c.request("ls", { path: "/workspace/big/flat" }, {});
    await writeFile(agent.real("/workspace/big/flat/e9999"), "late");
    const { value } = await c.request("ls", { path: "/workspace/big/flat" }, {});
    expect(value.entries.at(-1)).toMatchObject({ path: "/workspace/big/flat/e9999", size: 4 });
    expect(value.entries).toHaveLength(1001);
  });

  it("manifest in pages: every file exactly once, in walk order, the same as one big page", async () => {
    const whole = (await c.request("manifest", { path: "/workspace/big" }, {})).value;
    expect(whole.truncated).toBe(false);
    const pages: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { value } = await c.request("manifest", { path: "/workspace/big", limit: 333, after }, {});
      pages.push(...value.files.map((f) => f.path));
      if (!value.truncated) break;
      expect(value.files).toHaveLength(333);
      after = value.files.at(-1)!.path;
    }
    expect(pages).toEqual(whole.files.map((f) => f.path));
    expect(new Set(pages).size).toBe(pages.length);
  });

  it("a time budget cuts a walk and says so", async () => {
    const { value } = await c.request("glob", { pattern: "**/*", path: "/workspace/big", timeBudgetMs: 1 }, {});
    expect(value).toMatchObject({ truncated: true, cutBy: "time", totalIsLowerBound: true });
  });
});

function walkOrderOfLine(a: string, b: string): number {
  return walkOrder(a.slice(0, a.indexOf(":")), b.slice(0, b.indexOf(":")));
}

/** Depth-first name order of view paths (what the walk visits first sorts first). */
function walkOrder(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}
