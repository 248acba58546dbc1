/**
 * grep over a tree the cache knows nothing of (a command just made it) is answered by one GNU
 * `grep -r` and then the cache fills: the fresh answer, the answer from the filled cache and the
 * agent's own small-tree answer are the same, in walk order; symlinks are not entered, a FIFO does
 * not stall it, binary files and the glob filter apply. In process, on real files.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContext } from "../../../src/guest/context.ts";
import { fillsDone } from "../../../src/guest/fill-later.ts";
import { handleGrep } from "../../../src/guest/ops/grep.ts";
import type { OpRequest } from "../../../src/guest/request-context.ts";
import { VIEW_ROOTS } from "../../../src/protocol/index.ts";

let dir: string;
let ctx: ReturnType<typeof createContext>;
const real = (view: string): string => dir + VIEW_ROOTS.find((r) => view.startsWith(r.path))!.real + view.slice(VIEW_ROOTS.find((r) => view.startsWith(r.path))!.path.length);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-grep-"));
  const roots = VIEW_ROOTS.map((r) => ({ path: r.path, real: dir + r.real, writable: r.writable }));
  for (const r of roots) await mkdir(r.real, { recursive: true });
  ctx = createContext(roots);
  // 12 directories × 40 files (enough for the native paths), names that sort differently from
  // creation order, a needle on line 2 of every fourth file.
  for (let d = 11; d >= 0; d--) {
    await mkdir(real(`/workspace/t/d${d}`), { recursive: true });
    for (let f = 39; f >= 0; f--) await writeFile(real(`/workspace/t/d${d}/f${f}.txt`), f % 4 === 0 ? `head\r\nthe needle ${d}/${f}\n` : `plain\n`);
  }
  await mkdir(real("/workspace/outside"), { recursive: true });
  await writeFile(real("/workspace/outside/s.txt"), "needle outside\n");
  await symlink(real("/workspace/outside"), real("/workspace/t/d0/link-dir"));
  await symlink(real("/workspace/outside/s.txt"), real("/workspace/t/d0/link.txt"));
  await writeFile(real("/workspace/t/d1/bin.txt"), Buffer.from("needle\n\0needle\n"));
  await writeFile(real("/workspace/t/d1/pic.png"), "needle in a binary extension\n");
  execFileSync("mkfifo", [real("/workspace/t/d2/fifo")]);
});
afterAll(async () => {
  ctx?.tree.clear();
  await rm(dir, { recursive: true, force: true });
});

const grep = (args: { pattern: string; path: string; glob?: string; maxCount?: number }) =>
  handleGrep(ctx, { id: 1, args, aborted: false } as unknown as OpRequest<"grep">);
const lines = (r: Awaited<ReturnType<typeof grep>>): string[] => r.matches.map((m) => `${m.path}:${m.line}:${m.text}`);

const expected: string[] = [];
for (const d of Array.from({ length: 12 }, (_, i) => `d${i}`).sort())
  for (const f of Array.from({ length: 10 }, (_, i) => `f${4 * i}.txt`).sort()) expected.push(`/workspace/t/${d}/${f}:2:the needle ${d.slice(1)}/${f.slice(1, -4)}`);

it("a small fresh tree is read by the agent and answers the same as from the cache", async () => {
  await mkdir(real("/workspace/s"), { recursive: true });
  await writeFile(real("/workspace/s/a.txt"), "x\nneedle\n");
  expect(lines(await grep({ pattern: "needle", path: "/workspace/s" }))).toEqual(["/workspace/s/a.txt:2:needle"]);
  expect(ctx.tree.content(real("/workspace/s/a.txt"))?.toString()).toBe("x\nneedle\n"); // no grep -r: read and kept at once
});

it("a fresh tree: one grep -r answers in walk order, then the cache fills and answers the same", async () => {
  expect(ctx.tree.knowsUnder(real("/workspace/t"))).toBe(false);
  const fresh = await grep({ pattern: "needle", path: "/workspace/t" });
  expect(lines(fresh)).toEqual(expected);
  expect(fresh).toMatchObject({ truncated: false, total: expected.length });
  expect(ctx.tree.content(real("/workspace/t/d7/f4.txt"))).toBeUndefined(); // searched by grep -r, not read here

  await fillsDone();
  expect(ctx.tree.isListed(real("/workspace/t/d7"))).toBe(true);
  expect(ctx.tree.content(real("/workspace/t/d7/f4.txt"))?.toString()).toBe("head\r\nthe needle 7/4\n");
  expect(await grep({ pattern: "needle", path: "/workspace/t" })).toEqual(fresh); // from memory
});

it("a fresh tree: the glob filter, the item cap (total counted on) and walk order (a directory's files before its subdirectories)", async () => {
  await mkdir(real("/workspace/u/a"), { recursive: true });
  await writeFile(real("/workspace/u/a/y.txt"), "a needle\nneedle again\n");
  await writeFile(real("/workspace/u/a/z.md"), "no\n");
  await writeFile(real("/workspace/u/b.md"), "needle\n");
  // Enough files for the one-grep path (a small fresh tree is read by the agent itself).
  for (let i = 0; i < 200; i++) await writeFile(real(`/workspace/u/a/p${i}.txt`), "plain\n");
  expect(lines(await grep({ pattern: "needle", path: "/workspace/u", glob: "*.txt" }))).toEqual(["/workspace/u/a/y.txt:1:a needle", "/workspace/u/a/y.txt:2:needle again"]);
  await fillsDone();
  ctx.tree.clear(); // fresh again
  const all = ["/workspace/u/b.md:1:needle", "/workspace/u/a/y.txt:1:a needle", "/workspace/u/a/y.txt:2:needle again"];
  const cut = await grep({ pattern: "needle", path: "/workspace/u", maxCount: 2 });
  expect(lines(cut)).toEqual(all.slice(0, 2));
  expect(cut).toMatchObject({ truncated: true, cutBy: "items", total: 3 });
  await fillsDone();
  expect(lines(await grep({ pattern: "needle", path: "/workspace/u" }))).toEqual(all); // the walk's own order
});
