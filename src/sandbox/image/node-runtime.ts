import { realpath, stat } from "node:fs/promises";
import { run } from "./run.ts";

/**
 * Everything the host's Node needs at run time besides its binary, found from the binary itself:
 * the shared libraries `ldd` lists, and the "shared builtins" a distribution build loads from
 * files instead of carrying them inside (Debian's Node reads cjs-module-lexer, undici, acorn…
 * from /usr/share/nodejs; its `process.config` names each path). A guest root without them gets a
 * Node that dies at start-up.
 */

export interface NodeRuntime {
  /** Absolute paths of the shared libraries (vdso excluded). */
  libraries: string[];
  /** Absolute paths of the builtin files the binary loads from outside itself. */
  builtins: string[];
}

export async function nodeRuntime(node: string): Promise<NodeRuntime> {
  return { libraries: await sharedLibraries(node), builtins: await sharedBuiltins(node) };
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

/** The `node_shared_builtin_*_path` entries of the binary's build configuration. */
export async function sharedBuiltins(node: string): Promise<string[]> {
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
