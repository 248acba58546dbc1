import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { proxyEnv } from "../../config/index.ts";
import { publishDir } from "./publish.ts";
import { SANDBOX_GID, SANDBOX_UID } from "../../protocol/index.ts";
import { agentRun, INITTAB } from "./guest-scripts.ts";
import { nodeSetIdShim, SETID_SHIM_PATH } from "./node-setid-shim.ts";
import type { NodeRuntime } from "./node-runtime.ts";
import { run } from "./run.ts";

/**
 * The read-only root disk: a Debian minbase of the host's own suite (debootstrap, cached once per
 * suite, mirror and package list) plus the host's Node with what it loads, the guest agent and the boot glue, written as ext4 with `mkfs.ext4 -d` (no loop
 * mount). The base is shared between image builds; each build works on a hard-linked copy and only
 * ever replaces files (unlink + write), so the cached base is never modified.
 */

/** python3 (not -minimal) so skills get the whole standard library (json, csv, urllib...). */
export const BASE_PACKAGES = ["python3"] as const;

/** The cached base's name: one per suite, package list and mirror. */
export function baseKey(suite: string, mirror: string): string {
  return createHash("sha256").update(JSON.stringify({ suite, BASE_PACKAGES, mirror, v: 2 })).digest("hex").slice(0, 16);
}

/** debootstrap once into `cacheRoot/base-<key>`; trims docs, locales and apt caches. */
export async function ensureBase(cacheRoot: string, suite: string, mirror: string, log: (s: string) => void): Promise<string> {
  const dir = join(cacheRoot, `base-${baseKey(suite, mirror)}`);
  if (existsSync(join(dir, ".complete"))) return dir;
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(dirname(work), { recursive: true });
  log(`debootstrap ${suite} (minbase + ${BASE_PACKAGES.join(",")}) — about a minute`);
  try {
    await run(["debootstrap", "--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, suite, work, mirror], { extraEnv: proxyEnv() });
    for (const p of ["usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists", "var/log"]) {
      await rm(join(work, p), { recursive: true, force: true });
      await mkdir(join(work, p), { recursive: true });
    }
    await writeFile(join(work, ".complete"), "");
    await publishDir(work, dir);
    return dir;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

export interface RootfsInputs {
  base: string;
  /** Host Node binary copied into the guest as /usr/local/bin/node. */
  node: string;
  /** What that Node loads besides itself (libraries, shared builtins), copied to the same paths. */
  nodeRuntime: NodeRuntime;
  /** Bundled guest agent (one .mjs file). */
  agent: string;
  busybox: string;
}

/** Builds the ext4 root disk at `out` from a hard-linked copy of the base. */
export async function buildRootfs(inputs: RootfsInputs, out: string): Promise<void> {
  const stage = `${out}.stage`;
  await rm(stage, { recursive: true, force: true });
  try {
    await run(["cp", "-al", inputs.base, stage]);
    await rm(join(stage, ".complete"), { force: true });
    const put = async (rel: string, data: string | Buffer, mode = 0o644) => {
      const p = join(stage, rel);
      await mkdir(dirname(p), { recursive: true });
      await rm(p, { force: true }); // unlink first: the old file is a hard link into the base
      await writeFile(p, data);
      await chmod(p, mode);
    };
    const link = async (rel: string, target: string) => {
      const p = join(stage, rel);
      await mkdir(dirname(p), { recursive: true });
      await rm(p, { force: true, recursive: true });
      await symlink(target, p);
    };

    await put("usr/local/bin/node", await readFile(inputs.node), 0o755);
    // The base comes from the host's suite, so a library it already has is the same package.
    for (const lib of inputs.nodeRuntime.libraries) {
      if (!existsSync(join(stage, lib))) await put(lib.slice(1), await readFile(lib), 0o755);
    }
    for (const file of inputs.nodeRuntime.builtins) await put(file.slice(1), await readFile(file));
    await put("opt/vibewriter/agent.mjs", await readFile(inputs.agent));
    const shim = inputs.nodeRuntime.refusesSetIds ? SETID_SHIM_PATH : null;
    if (shim) await put(shim.slice(1), nodeSetIdShim(), 0o644);
    await put("opt/vibewriter/agent-run", agentRun(shim), 0o755);
    await put("opt/vibewriter/bin/busybox", await readFile(inputs.busybox), 0o755);
    for (const applet of ["init", "sh", "poweroff"]) await link(`opt/vibewriter/bin/${applet}`, "busybox");
    await put("etc/inittab", INITTAB);
    await put("etc/hostname", "sandbox\n");
    await link("etc/resolv.conf", "/run/resolv.conf");

    const addLine = async (rel: string, line: string) => {
      const text = await readFile(join(stage, rel), "utf8");
      const name = line.split(":")[0]!;
      if (!text.split("\n").some((l) => l.startsWith(`${name}:`))) await put(rel, `${text.trimEnd()}\n${line}\n`, rel === "etc/shadow" ? 0o640 : 0o644);
    };
    await addLine("etc/passwd", `sandbox:x:${SANDBOX_UID}:${SANDBOX_GID}:Vibewriter sandbox:/workspace:/bin/sh`);
    await addLine("etc/group", `sandbox:x:${SANDBOX_GID}:`);
    await addLine("etc/shadow", "sandbox:!:19000:0:99999:7:::");

    for (const d of ["workspace", "skills", "run", "tmp", "proc", "sys", "dev"]) await mkdir(join(stage, d), { recursive: true });
    await link("large_tool_results", "/workspace/.large_tool_results");
    await link("conversation_history", "/workspace/.conversation_history");

    const usedMiB = Number((await run(["du", "-sm", "--apparent-size", stage])).toString().split(/\s/)[0]);
    const sizeMiB = Math.ceil(usedMiB * 1.1) + 48;
    await rm(out, { force: true });
    // No journal: the disk is mounted read-only, and a journal only costs space and mount time.
    await run(["mkfs.ext4", "-q", "-F", "-L", "vwroot", "-m", "0", "-O", "^has_journal", "-d", stage, out, `${sizeMiB}M`]);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
