/**
 * deepagents' contract, proved differentially: every generated operation runs through
 * MicroVMBackend and through deepagents' own BaseSandbox (shell commands over the same VM's
 * `execute`), and the results are compared case by case — what the tools hand to the model:
 * results, error strings, pagination, paths. The allowed differences (BaseSandbox bugs kept out of
 * ours) are listed and explained in `contract-compare.ts`; nothing else may differ. Then the
 * same comparison one level up: deepagents' own tools (a scripted model through createDeepAgent)
 * over each backend, tool message by tool message.
 *
 * One VM, two identical copies of a generated tree (/workspace/cA for ours, /workspace/cB for
 * BaseSandbox), all timestamps pinned so listings compare exactly. Seed: CONTRACT_SEED (default
 * 13); a failure names its case, so it reproduces.
 */
import { appendFileSync } from "node:fs";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createDeepAgent } from "deepagents";
import { MicroVMBackend } from "../../src/sandbox/backend.ts";
import { ExecOnlySandbox } from "../support/exec-only-sandbox.ts";
import { editOutcome } from "../../src/sandbox/deepagents-contract.ts";
import { acquireTestVm, closeTestPool } from "../support/vm.ts";
import { comparable, onPurpose } from "./contract-compare.ts";
import { generateCases, generateTree, resolveCase, rng, type Case, type Tree } from "./contract-cases.ts";

const SEED = Number(process.env.CONTRACT_SEED ?? 13);
const OURS = "/workspace/cA";
const BASE = "/workspace/cB";
/** Every file and directory of both copies gets this mtime (2023-11-14T22:13:20Z). */
const PINNED = 1_700_000_000;

let ours: MicroVMBackend;
let base: ExecOnlySandbox;
let tree: Tree;
let cases: { reads: Case[]; mutations: Case[] };

beforeAll(async () => {
  ours = await MicroVMBackend.create({ threadId: "contract", vm: await acquireTestVm(), executeTimeoutMs: 60_000 });
  base = new ExecOnlySandbox(ours);
  const r = rng(SEED);
  tree = generateTree(r);
  cases = generateCases(r, tree);
  for (const root of [OURS, BASE]) {
    const up = await ours.uploadFiles([...tree.files].map(([rel, bytes]) => [`${root}/${rel}`, bytes]));
    expect(up.filter((u) => u.error)).toEqual([]);
    const mk = await ours.execute(`cd ${root} && mkdir -p ${tree.dirs.map((d) => `'${d}'`).join(" ")}`);
    expect(mk.exitCode).toBe(0);
  }
  await pinTimes();
}, 300_000);

afterAll(async () => {
  await ours?.close();
  await closeTestPool();
});

async function pinTimes(): Promise<void> {
  const r = await ours.execute(`find ${OURS} ${BASE} -exec touch -h -d @${PINNED} {} +`);
  expect(r.exitCode).toBe(0);
}

/** Runs one case on a backend (`root` replaces the `{R}` placeholders). */
async function run(b: MicroVMBackend | ExecOnlySandbox, c: Case, root: string): Promise<unknown> {
  const k = resolveCase(c, root);
  switch (k.op) {
    case "read":
      return b.read(k.path, k.offset, k.limit);
    case "readRaw":
      return b.readRaw(k.path);
    case "ls":
      return b.ls(k.path);
    case "glob":
      return b.glob(k.pattern, k.path);
    case "grep":
      return b.grep(k.pattern, k.path, k.glob, k.maxCount);
    case "write":
      return b.write(k.path, k.content);
    case "edit":
      return b.edit(k.path, k.old, k.new, k.all);
    case "delete":
      return b.delete(k.path);
  }
}

/** Tool message content is a string or content blocks (read_file returns blocks). */
const textOf = (content: unknown): string =>
  typeof content === "string" ? content : (content as { type: string; text?: string }[]).map((b) => b.text ?? `[${b.type}]`).join("");

/** BaseSandbox's result with its tree's root renamed to ours, so paths and messages compare. */
function renamed(x: unknown): unknown {
  const bytes = new Map<string, Uint8Array>();
  const json = JSON.stringify(x, (_k, v) => {
    if (v instanceof Uint8Array) {
      const key = `\u0000bytes${bytes.size}`;
      bytes.set(key, v);
      return key;
    }
    return v;
  });
  if (json === undefined) return x;
  // Absolute, then relative spellings of the root ("cB/x" in a message about a relative path).
  const rel = (p: string) => p.replace(/^\/workspace\//, "");
  const renamedJson = json.replaceAll(BASE, OURS).replace(new RegExp(`(?<![\\w/.-])${rel(BASE)}/`, "g"), `${rel(OURS)}/`);
  return JSON.parse(renamedJson, (_k, v) => (typeof v === "string" && bytes.has(v) ? bytes.get(v) : v));
}

/** What the generated cases made ours answer, by op: proof that they reach both successes and failures. */
const outcomes = new Map<string, Set<string>>();
function tally(c: Case, result: unknown): void {
  const r = result as { error?: string; files?: unknown[]; matches?: unknown[]; content?: unknown };
  const kind = r.error
    ? `error: ${r.error.replace(/'[^']*'|\/workspace\/\S*|\d+/g, "…")}`
    : r.files
      ? r.files.length ? "entries" : "no entries"
      : r.matches
        ? r.matches.length ? "matches" : "no matches"
        : r.content instanceof Uint8Array ? "bytes" : "ok";
  (outcomes.get(c.op) ?? outcomes.set(c.op, new Set()).get(c.op)!).add(kind);
}

interface Mismatch {
  case: Case;
  ours: unknown;
  theirs: unknown;
}

async function differences(list: Case[], after?: (c: Case) => Promise<Mismatch | null>): Promise<Mismatch[]> {
  const found: Mismatch[] = [];
  for (const c of list) {
    const o = await run(ours, c, OURS);
    tally(c, o);
    const wrong = onPurpose(c, resolveCase(c, OURS), o);
    if (wrong !== undefined) {
      if (wrong !== null) found.push({ case: c, ours: o, theirs: wrong });
      continue;
    }
    if (c.op === "edit" && c.all && REPLACEMENT_PATTERN.test(c.new)) {
      found.push(...(await literalReplaceAll(c, o)));
      continue;
    }
    const t = renamed(await run(base, c, BASE));
    const cmp = comparable(c, o, t, resolveCase(c, OURS));
    if (JSON.stringify(cmp.ours) !== JSON.stringify(cmp.theirs)) found.push({ case: c, ...cmp });
    const effect = await after?.(c);
    if (effect) found.push(effect);
  }
  return found;
}

/**
 * dollarPatterns: BaseSandbox's replaceAll edit hands newString to String.replaceAll, where "$&",
 * "$'", "$`" and "$$" are replacement patterns (its count, derived from the length change, comes
 * out fractional). Ours replaces literally: checked against BaseSandbox's own rules applied
 * literally (editOutcome), then BaseSandbox's copy is brought back in step.
 */
const REPLACEMENT_PATTERN = /\$[$&`']/;

async function literalReplaceAll(c: Extract<Case, { op: "edit" }>, o: unknown): Promise<Mismatch[]> {
  const path = resolveCase(c, OURS).path;
  const before = await run(base, { op: "readRaw", path: c.path }, BASE); // BaseSandbox's copy is still untouched
  const text = (before as { data?: { content: string } }).data?.content ?? "";
  const want = editOutcome(path, text, c.old, c.new, true);
  const out: Mismatch[] = [];
  const expected = "error" in want ? want : { path, filesUpdate: null, occurrences: want.occurrences };
  if (JSON.stringify(o) !== JSON.stringify(expected)) out.push({ case: c, ours: o, theirs: { expected } });
  const after = await ours.readRaw(path);
  const wantText = "error" in want || want.text === null ? text : want.text;
  if (after.data?.content !== wantText) out.push({ case: c, ours: `after: ${String(after.data?.content).slice(0, 200)}`, theirs: `expected: ${wantText.slice(0, 200)}` });
  const synced = await ours.write(resolveCase(c, BASE).path, wantText);
  expect(synced.error).toBeUndefined();
  await pinTimes();
  return out;
}

/** Between the two copies' states in sameEffect's one command's output. */
const STATE_SEPARATOR = "--- the other copy ---";

/** After a mutation: the touched path must hold the same bytes (or be absent) in both copies. */
async function sameEffect(c: Case): Promise<Mismatch | null> {
  const path = (root: string) => resolveCase(c, root).path as string;
  const state = (root: string) =>
    `p='${path(root).replace(/'/g, "'\\''")}'; cd /workspace; if [ -d "$p" ]; then echo dir; find "$p" | sed "s|^${root}||" | sort; elif [ -e "$p" ]; then base64 -w0 "$p"; else echo absent; fi`;
  // One command for both states and the re-pinned times (reading changes no mtime): each command
  // is a process start in the VM, hundreds of milliseconds under TCG.
  const r = await ours.execute(`${state(OURS)}; printf '\\n%s\\n' '${STATE_SEPARATOR}'; ${state(BASE)}; find ${OURS} ${BASE} -exec touch -h -d @${PINNED} {} +`);
  expect(r.exitCode).toBe(0);
  const parts = r.output.split(`\n${STATE_SEPARATOR}\n`);
  expect(parts).toHaveLength(2);
  const [a, b] = parts;
  return a === b ? null : { case: { ...c, op: c.op } as Case, ours: `after: ${a}`, theirs: `after: ${b}` };
}

function report(ms: Mismatch[]): string[] {
  if (process.env.CONTRACT_DUMP) appendFileSync(process.env.CONTRACT_DUMP, ms.map((m) => JSON.stringify(m)).join("\n") + "\n");
  return ms.slice(0, 15).map((m) => `${JSON.stringify(m.case)}\n  ours:   ${JSON.stringify(m.ours).slice(0, 600)}\n  theirs: ${JSON.stringify(m.theirs).slice(0, 600)}`);
}

describe(`MicroVMBackend vs deepagents' BaseSandbox on the same VM (seed ${SEED})`, () => {
  it("generates a broad set of cases", () => {
    expect(tree.files.size).toBeGreaterThan(40);
    const ops = new Set([...cases.reads, ...cases.mutations].map((c) => c.op));
    expect([...ops].sort()).toEqual(["delete", "edit", "glob", "grep", "ls", "read", "readRaw", "write"]);
  });

  for (const op of ["read", "readRaw", "ls", "glob", "grep"] as const) {
    it(`${op}: the same results and errors`, async () => {
      const list = cases.reads.filter((c) => c.op === op);
      expect(list.length).toBeGreaterThan(0);
      expect(report(await differences(list))).toEqual([]);
    }, 600_000);
  }

  it("write, edit, delete: the same results, errors and effects", async () => {
    expect(report(await differences(cases.mutations, sameEffect))).toEqual([]);
  }, 600_000);

  it("deepagents' own tools show the model the same text through both (ls, glob, grep, read_file, write_file, edit_file)", async () => {
    const calls = (root: string) => [
      { name: "ls", args: { path: `${root}/sub` } },
      { name: "ls", args: { path: `${root}/missing` } },
      { name: "glob", args: { pattern: "**/*.md", path: root } },
      { name: "glob", args: { pattern: "*", path: `${root}/sub` } },
      { name: "glob", args: { pattern: "nomatch*", path: root } },
      { name: "grep", args: { pattern: "needle", path: `${root}/sub` } },
      { name: "grep", args: { pattern: "needle", path: `${root}/sub`, output_mode: "files_with_matches" } },
      { name: "grep", args: { pattern: "needle", path: `${root}/sub`, output_mode: "count" } },
      { name: "grep", args: { pattern: "zzz-none", path: root } },
      { name: "grep", args: { pattern: "needle", path: `${root}/missing` } },
      { name: "read_file", args: { file_path: `${root}/missing.txt` } },
      { name: "read_file", args: { file_path: `${root}/sub` } },
      { name: "write_file", args: { file_path: `${root}/tool new.md`, content: "a\nb a\n" } },
      { name: "edit_file", args: { file_path: `${root}/tool new.md`, old_string: "a", new_string: "c" } },
      { name: "edit_file", args: { file_path: `${root}/tool new.md`, old_string: "zz", new_string: "c" } },
      { name: "edit_file", args: { file_path: `${root}/tool new.md`, old_string: "b a", new_string: "B" } },
      { name: "edit_file", args: { file_path: `${root}/tool new.md`, old_string: "a", new_string: "A", replace_all: true } },
      { name: "edit_file", args: { file_path: `${root}/nope.md`, old_string: "x", new_string: "y" } },
      { name: "write_file", args: { file_path: `${root}/sub`, content: "onto a directory" } },
    ];
    // A few calls per conversation: the scripted model's context stays far below deepagents'
    // summarisation threshold (a summary would take one of the scripted replies).
    const seen = async (backend: MicroVMBackend | ExecOnlySandbox, root: string) => {
      const all = calls(root);
      const texts: string[] = [];
      for (let at = 0; at < all.length; at += 4) {
        const model = fakeModel();
        all.slice(at, at + 4).forEach((call, i) => model.respondWithTools([{ ...call, id: `call_${at + i}` }]));
        model.respond(new AIMessage({ id: "final", content: "done" }));
        const agent = createDeepAgent({ model, backend });
        const result = await agent.invoke({ messages: [{ role: "user", content: "go" }] }, { configurable: { thread_id: `tools-${at}` }, recursionLimit: 40 });
        texts.push(...(result.messages as unknown[]).filter((m): m is ToolMessage => ToolMessage.isInstance(m)).map((m) => textOf(m.content)));
      }
      expect(texts).toHaveLength(all.length);
      // order: listings are compared as sorted lines (BaseSandbox's come in directory order);
      // grepTrailing: without trailing blanks (ours drops a CRLF line's "\r").
      return texts.map((t) => t.split("\n").map((line) => line.trimEnd()).sort().join("\n"));
    };
    const mine = await seen(ours, OURS);
    const theirs = (renamed(await seen(base, BASE)) as string[]);
    expect(mine.map((text, i) => ({ call: calls(OURS)[i], text }))).toEqual(theirs.map((text, i) => ({ call: calls(OURS)[i], text })));
    // Not vacuous: the listings list, the errors are deepagents' own words.
    expect(mine[0]).toMatch(/\(directory\)/);
    expect(mine[10]).toBe(`Error: File '${OURS}/missing.txt' not found`);
    expect(mine[13]).toBe(`Multiple occurrences found in '${OURS}/tool new.md'. Use replaceAll=true to replace all.`);
  }, 300_000);

  it("the cases reached every outcome the contract words", () => {
    const seen = Object.fromEntries([...outcomes].map(([op, kinds]) => [op, [...kinds].sort()]));
    expect(seen.read).toEqual(expect.arrayContaining(["ok", "bytes", "error: File … not found", "error: Line offset … exceeds file length (… lines)"]));
    expect(seen.ls).toEqual(expect.arrayContaining(["entries", "no entries"]));
    expect(seen.glob).toEqual(expect.arrayContaining(["entries", "no entries"]));
    expect(seen.grep).toEqual(expect.arrayContaining(["matches", "no matches", "error: Error: pattern must be a non-empty string"]));
    expect(seen.write).toEqual(expect.arrayContaining(["ok", "error: Failed to write to … is_directory"]));
    expect(seen.edit).toEqual(
      expect.arrayContaining([
        "ok",
        "error: Error: File … not found",
        "error: String not found in file …",
        "error: Multiple occurrences found in …. Use replaceAll=true to replace all.",
        "error: oldString must not be empty unless the file is empty",
      ]),
    );
    expect(seen.delete).toEqual(expect.arrayContaining(["ok", "error: Error: … not found"]));
  });

  it("confinement stays stricter: paths outside the view roots are refused, never reached", async () => {
    for (const path of ["/etc/passwd", "/workspace/../etc/passwd", "/proc/self/environ", "/home"]) {
      expect((await ours.read(path)).error).toMatch(/outside the sandbox/);
      expect((await ours.ls(path)).error).toMatch(/outside the sandbox/);
      expect((await ours.glob("*", path)).error).toMatch(/outside the sandbox/);
      expect((await ours.grep("root", path)).error).toMatch(/outside the sandbox/);
      expect((await ours.write(`${path}/x`, "x")).error).toMatch(/outside the sandbox/);
      expect((await ours.delete(path)).error).toMatch(/outside the sandbox/);
    }
    // "/" is the view's top: its roots, not the VM's /.
    const top = (await ours.ls("/")).files!.map((f) => f.path);
    expect(top).toEqual(expect.arrayContaining(["/workspace/", "/skills/", "/tmp/"]));
    expect(top.every((p) => ["/workspace/", "/skills/", "/tmp/", "/large_tool_results/", "/conversation_history/"].includes(p))).toBe(true);
    // BaseSandbox reaches them (the reason confinement is ours): it reads the VM's /etc/passwd.
    expect((await base.read("/etc/passwd")).content).toMatch(/root/);
    // A shell-shaped path is data for ours, code for nobody: both find nothing.
    expect((await ours.read("/workspace/$(id).txt")).error).toBe("File '/workspace/$(id).txt' not found");
  });
});
