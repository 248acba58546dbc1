/**
 * The protocol's place between the two sides, read from the source files: it imports nothing but
 * itself and Node's built-ins (the guest bundles it), and the host reaches the guest only through
 * it (the one exception: the image builder, which bundles the agent).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Every module a file imports (static, dynamic and re-exports), resolved when relative. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith(".") ? relative(SRC, resolve(dirname(file), s)) : s));
}

it("src/protocol imports only itself and node: built-ins", () => {
  const outside = sources(join(SRC, "protocol")).flatMap((f) =>
    importsOf(f)
      .filter((m) => !m.startsWith("node:") && !m.startsWith("protocol/"))
      .map((m) => `${relative(SRC, f)} → ${m}`),
  );
  expect(outside).toEqual([]);
});

it("host code never imports guest code (only the image builder bundles it)", () => {
  const host = sources(SRC).filter((f) => !relative(SRC, f).startsWith("guest/"));
  const crossing = host.flatMap((f) =>
    importsOf(f)
      .filter((m) => m.startsWith("guest/"))
      .map((m) => `${relative(SRC, f)} → ${m}`),
  );
  expect(crossing).toEqual(["sandbox/image/build.ts → guest/build.ts"]);
});
