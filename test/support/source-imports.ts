/** The source tree's imports, read from the files: for tests that hold a layer to what it may import. */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** Every `.ts` file under `dir`. */
export function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Every module a file imports (static, dynamic and re-exports), as a path under src/ when relative. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith(".") ? relative(SRC, resolve(dirname(file), s)) : s));
}

/** `file → module` for each import of a file under `folder` (of src/) that `bad` matches. */
export function importsFrom(folder: string, bad: (module: string) => boolean): string[] {
  return sources(join(SRC, folder)).flatMap((f) =>
    importsOf(f)
      .filter(bad)
      .map((m) => `${relative(SRC, f)} → ${m}`),
  );
}
