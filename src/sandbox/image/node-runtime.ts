import { existsSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { ImageError, ImageErrorCode } from "./errors.ts";
import { run } from "./run.ts";

/**
 * Everything the host's Node needs at run time besides its binary, found from the binary itself:
 * the shared libraries `ldd` lists, and the builtins a distribution build loads from files instead
 * of carrying them inside (Debian 13's libnode reads cjs-module-lexer, undici, acorn, minimatch
 * from /usr/share/nodejs: the paths are strings in the library; upstream's
 * `--shared-builtin-*-path` builds name them in `process.config`). A guest root without them gets
 * a Node that dies at start-up. Also whether this Node refuses set*id (node-setid-shim.ts).
 */

export interface NodeRuntime {
  /** Absolute paths of the shared libraries (vdso excluded). */
  libraries: string[];
  /** Absolute paths of the builtin files the binary loads from outside itself. */
  builtins: string[];
  /** True when process.set*id() throws ERR_INVALID_STATE (Debian 13): the guest needs the shim. */
  refusesSetIds: boolean;
}

export async function nodeRuntime(node: string): Promise<NodeRuntime> {
  const libraries = await sharedLibraries(node);
  const builtins = new Set(await configuredBuiltins(node));
  for (const f of [node, ...libraries]) for (const p of embeddedBuiltins(await readFile(f))) if (existsSync(p)) builtins.add(p);
  return { libraries, builtins: [...builtins].sort(), refusesSetIds: await refusesSetIds(node) };
}

/** Setting the effective gid to itself is allowed to anyone, so only Node's own refusal fails it. */
const SETID_PROBE = `try { process.setegid(process.getegid()); } catch (e) { if (e.code === "ERR_INVALID_STATE") process.exit(3); throw e; }`;

/** Whether `node` (with `env`) refuses process.set*id() for fear of io_uring (CVE-2024-22017). */
export async function refusesSetIds(node: string, env: Record<string, string> = {}): Promise<boolean> {
  try {
    await run([node, "-e", SETID_PROBE], { extraEnv: env });
    return false;
  } catch (err) {
    if (/failed \(3\)/.test((err as Error).message)) return true;
    throw new ImageError(ImageErrorCode.CommandFailed, `cannot probe ${node} for set*id: ${(err as Error).message}`, { cause: err });
  }
}

/** size:mtime of every file the guest's Node is made of: a package update of any of them changes it. */
export async function nodeRuntimeKey(node: string, runtime: NodeRuntime): Promise<string> {
  const parts: string[] = [];
  for (const f of [node, ...runtime.libraries, ...runtime.builtins]) {
    const st = await stat(await realpath(f));
    parts.push(`${f}:${st.size}:${st.mtimeMs}`);
  }
  return parts.join("\n");
}

/** Absolute paths of the shared libraries `ldd` lists for a binary (vdso excluded). */
export async function sharedLibraries(bin: string): Promise<string[]> {
  const text = (await run(["ldd", bin])).toString("utf8");
  const libs: string[] = [];
  for (const line of text.split("\n")) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** Builtin files named inside a binary: /usr/share/nodejs/<package>/….js paths (Debian's libnode). */
export function embeddedBuiltins(binary: Buffer): string[] {
  const paths = new Set<string>();
  const text = binary.toString("latin1");
  for (const m of text.matchAll(/\/usr\/share\/nodejs\/[\w@.+-]+(?:\/[\w@.+-]+)*\.(?:c?js|mjs|json|wasm)(?=\0)/g)) paths.add(m[0]);
  return [...paths].sort();
}

/** The `node_shared_builtin_*_path` entries of the binary's build configuration. */
export async function configuredBuiltins(node: string): Promise<string[]> {
  const out = await run([node, "-e", "process.stdout.write(JSON.stringify(process.config.variables))"]);
  return builtinPathsOf(JSON.parse(out.toString("utf8")) as Record<string, unknown>);
}

export function builtinPathsOf(variables: Record<string, unknown>): string[] {
  const paths = new Set<string>();
  for (const [key, value] of Object.entries(variables)) {
    if (/^node_shared_builtin_.+_path$/.test(key) && typeof value === "string" && value.startsWith("/")) paths.add(value);
  }
  return [...paths].sort();
}
