/**
 * manifest in pages returns every file exactly once, in the walk's order, whatever the cursor:
 * the walk visits a directory's files before what lies in its subdirectories, so a page that ends
 * on a file must still lead into a subdirectory whose name sorts before that file. In process.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContext } from "../../../src/guest/context.ts";
import { handleManifest } from "../../../src/guest/ops/fs-list.ts";
import type { OpRequest } from "../../../src/guest/request-context.ts";
import { VIEW_ROOTS } from "../../../src/protocol/index.ts";

let dir: string;
let ctx: ReturnType<typeof createContext>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vw-manifest-"));
  const roots = VIEW_ROOTS.map((r) => ({ path: r.path, real: dir + r.real, writable: r.writable }));
  for (const r of roots) await mkdir(r.real, { recursive: true });
  ctx = createContext(roots);
  const ws = roots.find((r) => r.path === "/workspace")!.real;
  // Files and subdirectories mixed, names on both sides of each other.
  for (const p of ["D/a/z.txt", "D/a/k/q.txt", "D/a/b.txt", "D/b.txt", "D/c/d.txt", "D/m.txt", "D/z/y/x.txt", "D/0.txt"]) {
    await mkdir(join(ws, p, ".."), { recursive: true });
    await writeFile(join(ws, p), p);
  }
});
afterAll(async () => {
  ctx?.tree.clear();
  await rm(dir, { recursive: true, force: true });
});

const manifest = (limit: number, after?: string) =>
  handleManifest(ctx, { id: 1, args: { path: "/workspace/D", limit, after }, aborted: false } as unknown as OpRequest<"manifest">);

it("pages of any size add up to the one big page", async () => {
  const whole = (await manifest(1000)).files.map((f) => f.path);
  expect(whole).toEqual(["0.txt", "b.txt", "m.txt", "a/b.txt", "a/z.txt", "a/k/q.txt", "c/d.txt", "z/y/x.txt"].map((p) => `/workspace/D/${p}`));
  for (const size of [1, 2, 3]) {
    const pages: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await manifest(size, after);
      pages.push(...page.files.map((f) => f.path));
      if (!page.truncated) break;
      after = page.files.at(-1)!.path;
    }
    expect(pages, `pages of ${size}`).toEqual(whole);
  }
});
