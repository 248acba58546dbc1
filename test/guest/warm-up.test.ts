/**
 * The agent's warm-up (run before it serves, so the template snapshot holds compiled code): every
 * request it sends must succeed through the real session, and it must leave nothing behind.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContext } from "../../src/guest/context.ts";
import { VIEW_ROOTS } from "../../src/protocol/index.ts";
import { warmUp } from "../../src/guest/warm-up.ts";

it("runs its requests to completion and removes its scratch folder", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vw-warm-"));
  try {
    const roots = VIEW_ROOTS.map((r) => ({ path: r.path, real: dir + r.real, writable: r.writable }));
    const ctx = createContext(roots);
    for (const r of roots) await mkdir(r.real, { recursive: true });
    const failures: string[] = [];
    await warmUp(ctx, (op, message) => failures.push(`${op}: ${message}`));
    // The one expected failure per round: reading a file that does not exist.
    expect(failures.filter((f) => !f.startsWith("read: /tmp/.vw-warm-up/missing.txt"))).toEqual([]);
    expect(failures.length).toBeGreaterThan(0);
    expect(await readdir(dir + "/tmp")).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
