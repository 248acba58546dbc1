/**
 * Fills the tree cache for directories a search answered without it (a fresh tree searched by one
 * `grep -r`): listings through the walk (one native scan) and small files' contents (content-load),
 * after the answer went out, one fill at a time. The next search is then served from memory.
 * A fill is best effort: whatever stops it (time, a change, an error) leaves the cache as the
 * walk and the load left it, never wrong (both check their inotify tickets).
 */
import { hasBinaryExtension } from "./binary.ts";
import { budgetOf } from "./budget.ts";
import { LOAD_FILES, loadContents, MAX_FILE_BYTES, type Candidate } from "./content-load.ts";
import type { AgentContext } from "./context.ts";
import { walk } from "./walk.ts";

let queue: Promise<void> = Promise.resolve();
const queued = new Set<string>();

/** Queues a fill of each of `dirs` (real, confined directories) not already queued. */
export function fillLater(ctx: AgentContext, dirs: string[]): void {
  for (const dir of dirs) {
    if (queued.has(dir)) continue;
    queued.add(dir);
    queue = queue
      .then(() => fill(ctx, dir))
      .catch(() => {}) // best effort: a cancelled or failed fill leaves a correct, partial cache
      .finally(() => queued.delete(dir));
  }
}

/** Resolves when every queued fill has ended (the warm-up waits before it clears the cache). */
export function fillsDone(): Promise<void> {
  return queue;
}

async function fill(ctx: AgentContext, dir: string): Promise<void> {
  await ctx.tree.settle();
  const budget = budgetOf(undefined, undefined);
  const request = { aborted: false };
  const files: Candidate[] = [];
  let uncached = 0;
  const end = await walk(ctx, dir, request, budget, (path, entry) => {
    if (entry.kind !== "file" || entry.size > MAX_FILE_BYTES || hasBinaryExtension(entry.name)) return;
    if (ctx.tree.content(path) === undefined) uncached++;
    files.push({ real: path, view: path, entry });
  });
  if (end !== null || uncached === 0 || uncached > LOAD_FILES) return;
  await loadContents(ctx, request, files, budget.deadline);
}
