/**
 * Runs the agent's file requests through a session a few dozen times before it serves the host.
 *
 * Under TCG, JavaScript that V8 has not compiled yet runs in its interpreter, itself emulated: a
 * cold request costs several times a warm one. The template snapshot is taken once the agent is
 * ready, so the code V8 compiled here is in the RAM every restored sandbox starts from. It goes
 * through the real framing, session and handlers (a transport that drops the replies), on files
 * in a scratch folder under /tmp that is removed afterwards.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import type { AgentContext } from "./context.ts";
import { encodeFrame } from "../protocol/index.ts";
import type { Op, OpMap } from "../protocol/index.ts";
import { fillsDone } from "./fill-later.ts";
import { Session } from "./session.ts";

const ROUNDS = 20;
const DIR = "/tmp/.vw-warm-up";
const STEP_TIMEOUT_MS = 20_000;
/** Rounds over a tree big enough for the native paths (find, grep -r, cat: see native-tool.ts). */
const NATIVE_ROUNDS = 3;
/** 2 × 260 files: past walk's 250 JS-listed entries, ls's 250 and grep's 150 uncached files. */
const NATIVE_DIRS = 2;
const NATIVE_FILES = 260;

/** `onError` hears every request that ended in an error (tests check there is none unexpected). */
export async function warmUp(ctx: AgentContext, onError?: (op: string, message: string) => void): Promise<void> {
  const real = ctx.roots.find((r) => r.path === "/tmp")?.real;
  if (!real) return;
  let settle: (() => void) | null = null;
  let pending = 0;
  const session = new Session(ctx, {
    write: async (bytes) => {
      // Result and error frames end a request; data frames do not.
      const header = JSON.parse(bytes.toString("utf8", 8, 8 + bytes.readUInt32BE(0))) as { id: number; ev: string; message?: string };
      if (header.ev === "error") onError?.(ops.get(header.id) ?? "?", header.message ?? "");
      if ((header.ev === "result" || header.ev === "error") && --pending === 0) settle?.();
    },
    pause: () => {},
    resume: () => {},
  });
  let id = 1;
  const run = async (requests: Buffer[]): Promise<void> => {
    pending = requests.length;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = resolve;
      // Never hold the agent back from serving: a stuck warm-up request is abandoned.
      timer = setTimeout(() => reject(new Error("warm-up request did not finish")), STEP_TIMEOUT_MS);
    });
    for (const r of requests) session.receive(r);
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
  };
  const ops = new Map<number, string>();
  const req = <O extends Op>(op: O, args: OpMap[O]["args"], body?: Buffer): Buffer => {
    ops.set(id, op);
    return encodeFrame({ id: id++, op, args }, body);
  };
  const text = Buffer.from(Array.from({ length: 64 }, (_, i) => `line ${i} needle-${i % 7} ${"x".repeat(50)}`).join("\n") + "\n");
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const f = `${DIR}/d${round % 3}/f.txt`;
      await run([req("write", { path: f, size: text.length }, text)]);
      await run([
        req("read", { path: f, lines: { offset: 0, limit: 500 } }),
        req("read", { path: f }),
        req("stat", { path: f }),
        req("ls", { path: DIR }),
        req("glob", { pattern: "**/*.txt", path: DIR }),
        req("grep", { pattern: "needle-3", path: DIR }),
        req("manifest", { path: DIR }),
        req("download", { paths: [f] }),
        req("upload", { files: [{ path: `${DIR}/u.bin`, size: 4 }] }, Buffer.from("abcd")),
      ]);
      await run([req("edit", { path: f, oldString: "line 1 ", newString: "line 1 " })]);
      await run([req("read", { path: `${DIR}/missing.txt` }), req("delete", { path: `${DIR}/u.bin` })]);
    }
    // The native paths, each met first on a tree the cache does not know: grep -r and the cache
    // fill after it (walk, find, cat), grep from memory, glob's scan (two finds), grep reading a
    // listed tree's contents with cat, ls of a big directory (find -maxdepth 1).
    const big = `${DIR}/big`;
    const bigReal = real + big.slice("/tmp".length);
    for (let d = 0; d < NATIVE_DIRS; d++) {
      mkdirSync(`${bigReal}/d${d}`, { recursive: true });
      for (let f = 0; f < NATIVE_FILES; f++) writeFileSync(`${bigReal}/d${d}/f${f}.txt`, f % 10 ? `plain ${f}\n` : `head\nthe needle ${f}\n`);
    }
    for (let round = 0; round < NATIVE_ROUNDS; round++) {
      ctx.tree.clear();
      await run([req("grep", { pattern: "needle", path: big })]);
      await fillsDone();
      await run([req("grep", { pattern: "needle", path: big })]);
      ctx.tree.clear();
      await run([req("glob", { pattern: "**/*.txt", path: big })]);
      await run([req("grep", { pattern: "needle", path: big })]);
      await run([req("ls", { path: `${big}/d0` })]);
      ctx.tree.clear();
      await run([req("ls", { path: `${big}/d1` }), req("manifest", { path: big })]);
    }
    // Commands: the exec path (the command's cgroup made, entered for the spawn, killed and
    // removed; output frames) and Python, which the skills run. The code V8 compiles and the file
    // pages read here are in every restored sandbox's RAM; the cgroups are gone before the snapshot.
    for (let i = 0; i < 3; i++) await run([req("exec", { argv: ["/bin/sh", "-c", "echo warm"], cwd: "/tmp" })]);
    await run([req("exec", { shell: "command -v python3 >/dev/null 2>&1 && python3 -c 'import json, os, re, sys'; true", cwd: "/tmp" })]);
  } finally {
    await fillsDone(); // a grep's cache fill must not outlive the warm-up (its watchers, its files)
    session.close();
    rmSync(real + DIR.slice("/tmp".length), { recursive: true, force: true });
    ctx.tree.clear(); // no watchers in the template snapshot
  }
}
