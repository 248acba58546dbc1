/**
 * Reads many files into the tree cache with one `cat` (argv names, as the sandbox user) instead of
 * one JS read each (four fs calls, ~0.3 ms apiece under TCG): grep's way to fill the cache.
 */
import type { AgentContext } from "./context.ts";
import { ARGV_BYTES, runTool } from "./native-tool.ts";
import type { CachedEntry } from "./tree-cache.ts";

const CAT = "/usr/bin/cat";
/** Bytes looked at for a NUL that marks a binary file. */
const BINARY_SNIFF = 8192;
/** Uncached files above which they are not read into the cache (grep searches them natively). */
export const LOAD_FILES = 20_000;
/** Bytes one `cat` reads at most (they are held in the agent's memory at once). */
const CAT_BATCH_BYTES = 16 * 1024 * 1024;
/** Files larger than this are not searched (nor kept). */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

export interface Candidate {
  real: string;
  view: string;
  /** Its listing entry (the walk's), when it was found by a walk. */
  entry?: CachedEntry;
}

/**
 * The bytes of many listed files with `cat` (argv names, as the sandbox user), cut apart by the
 * sizes their listing entries give, in argv-sized batches; `onBatch` gets each batch's files and
 * bytes. Only when it adds up: cat succeeded, the bytes match the sizes, and no listing changed
 * meanwhile (a change fires an event, which replaces the entry; a symlink swapped in for a file
 * does too). "no" when anything did not add up (batches before it were handed over).
 */
export async function catFiles<F extends Candidate & { entry: CachedEntry }>(
  ctx: AgentContext,
  request: { readonly aborted: boolean },
  files: F[],
  deadline: number,
  onBatch: (batch: F[], bytes: Buffer[]) => void | Promise<void>,
): Promise<"done" | "no" | "time"> {
  for (let i = 0; i < files.length; ) {
    const batch: F[] = [];
    let argv = 0;
    let expected = 0;
    for (; i < files.length && argv < ARGV_BYTES && (batch.length === 0 || expected + files[i]!.entry.size <= CAT_BATCH_BYTES); i++) {
      batch.push(files[i]!);
      argv += files[i]!.real.length + 1;
      expected += files[i]!.entry.size;
    }
    let out: Buffer = Buffer.alloc(0);
    const run = await runTool(ctx, CAT, ["--", ...batch.map((f) => f.real)], {
      deadline,
      request,
      stdoutToFile: { maxBytes: expected }, // more: a file grew since it was listed
      onData(all) {
        out = all;
      },
    });
    if (run.stopped === "time") return "time";
    if (run.code !== 0 || run.stopped || out.length !== expected) return "no";
    await ctx.tree.settle();
    if (batch.some((f) => ctx.tree.entry(f.real) !== f.entry)) return "no";
    const bytes: Buffer[] = [];
    let at = 0;
    for (const f of batch) {
      bytes.push(out.subarray(at, at + f.entry.size));
      at += f.entry.size;
    }
    await onBatch(batch, bytes);
  }
  return "done";
}

/**
 * Reads the uncached files among `files` into the tree cache with one `cat` (catFiles). "no"
 * when the files do not fit the cache or anything did not add up.
 */
export async function loadContents(ctx: AgentContext, request: { readonly aborted: boolean }, files: Candidate[], deadline: number): Promise<"loaded" | "no" | "time"> {
  const todo = files.filter((f): f is Candidate & { entry: CachedEntry } => f.entry !== undefined && ctx.tree.content(f.real) === undefined);
  let total = 0;
  for (const f of todo) {
    if (f.entry.size > ctx.tree.maxCachedFile) return "no";
    total += f.entry.size;
  }
  if (todo.length !== files.filter((f) => ctx.tree.content(f.real) === undefined).length || total > ctx.tree.maxContentBytes / 2) return "no";
  const end = await catFiles(ctx, request, todo, deadline, (batch, bytes) => {
    // Like git and grep: a NUL byte near the start marks binary content.
    batch.forEach((f, k) => ctx.tree.keep(f.real, bytes[k]!.subarray(0, BINARY_SNIFF).includes(0) ? null : bytes[k]!));
  });
  return end === "done" ? "loaded" : end;
}
