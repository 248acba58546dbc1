/**
 * The import graph of src/, read from the source files (static, dynamic and type-only imports and
 * re-exports alike: a type import ties two folders together as much as a value import does).
 *
 * The layering, bottom first. A folder imports only folders of a layer below its own, and only
 * through their `index.ts`, the folder's public surface; a file at src/'s top (errors.ts) is a
 * surface of its own. Inside a folder, files import each other directly, never their own index.
 * A dynamic `import()` is there to load less: it may take surface names from the file declaring them.
 * DEVELOPERS.md ("Layers") says the same in prose.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const LAYERS: readonly (readonly string[])[] = [
  ["errors.ts"], // the error model every layer builds on (the guest too): imports nothing
  ["config", "protocol"], // protocol: shared by host and guest, no package at all
  ["guest", "nats", "sandbox"], // guest: the program inside the VM, reached through protocol only
  ["wallet"],
  ["choir"],
  ["agent"],
  ["export"],
  ["app"], // the composition root: builds the backbone, VM pool, wallet and ports, hands them down
  ["web"], // the owner's console, started by the CLI
  ["cli"],
];

/** Imports across the rules, each with its reason: none. */
const EXCEPTIONS: string[] = [];

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

interface Import {
  from: string; // src-relative file
  to: string; // src-relative file, or a package / node: built-in
  local: boolean; // a file of src/ (else a package or a node: built-in)
  names: string[]; // the names taken, when the statement says ("*" for a namespace or a bare dynamic import)
  exported?: string[]; // for `export { … } from`: the names it exports them as
  dynamic?: boolean; // an `import()`
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** The names a dynamic `import()` takes: `const { a, b } = await import(…)` or `(await import(…)).a`. */
function dynamicNames(call: ts.CallExpression): string[] {
  const awaited = ts.isAwaitExpression(call.parent) ? call.parent : undefined;
  const user = awaited && ts.isParenthesizedExpression(awaited.parent) ? awaited.parent.parent : awaited?.parent;
  if (user && ts.isPropertyAccessExpression(user)) return [user.name.text];
  if (user && ts.isVariableDeclaration(user) && ts.isObjectBindingPattern(user.name)) {
    return user.name.elements.map((e) => ((e.propertyName ?? e.name) as ts.Identifier).text);
  }
  return ["*"];
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const from = relative(SRC, file);
  const found: Import[] = [];
  const add = (spec: string, names: string[], more: Partial<Import> = {}) =>
    found.push({ from, to: spec.startsWith(".") ? relative(SRC, resolve(dirname(file), spec)) : spec, local: spec.startsWith("."), names, ...more });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const bindings = c?.namedBindings;
      const names = bindings && ts.isNamespaceImport(bindings) ? ["*"] : (bindings?.elements.map((e) => (e.propertyName ?? e.name).text) ?? []);
      add(node.moduleSpecifier.text, c?.name ? ["default", ...names] : names);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const elements = clause && ts.isNamedExports(clause) ? clause.elements : undefined;
      add(node.moduleSpecifier.text, elements?.map((e) => (e.propertyName ?? e.name).text) ?? ["*"], { exported: elements?.map((e) => e.name.text) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, dynamicNames(node), { dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return found;
}

const IMPORTS = sources(SRC).flatMap(importsOf);
const local = IMPORTS.filter((i) => i.local && !i.to.startsWith(".."));
/** The folder (or top-level file) a src-relative path belongs to. */
const unit = (path: string) => path.split("/")[0]!;
const layerOf = (u: string) => LAYERS.findIndex((l) => l.includes(u));
const crossing = local.filter((i) => unit(i.from) !== unit(i.to) && !EXCEPTIONS.includes(`${i.from} → ${i.to}`));
const show = (i: Import) => `${i.from} → ${i.to}`;

/** The strongly connected parts of a graph with more than one node (Tarjan): each is a circle. */
function circles(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const part = stack.splice(stack.indexOf(v));
    if (part.length > 1 || edges.get(v)?.has(v)) found.push(part.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) connect(v);
  return found;
}

function graph(pairs: [string, string][]): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const [a, b] of pairs) edges.set(a, (edges.get(a) ?? new Set()).add(b));
  return edges;
}

it("every folder and top-level file of src/ has a place in the layering", () => {
  const units = readdirSync(SRC).filter((n) => !n.endsWith(".md"));
  expect(units.filter((u) => layerOf(u) < 0)).toEqual([]);
});

it("no folder imports its own layer or one above (so no circle between folders)", () => {
  const upward = crossing.filter((i) => layerOf(unit(i.to)) >= layerOf(unit(i.from))).map(show);
  expect(upward).toEqual([]);
  expect(circles(graph(crossing.map((i) => [unit(i.from), unit(i.to)])))).toEqual([]);
});

it("no circle between files", () => {
  expect(circles(graph(local.map((i) => [i.from, i.to])))).toEqual([]);
});

it("another folder is imported only through its index.ts", () => {
  const surface = new Map(IMPORTS.filter((i) => /^[^/]+\/index\.ts$/.test(i.from)).flatMap((i) => (i.exported ?? []).map((n) => [`${unit(i.from)}:${n}`, i.to])));
  const loadsLess = (i: Import) => i.dynamic && i.names.every((n) => surface.get(`${unit(i.to)}:${n}`) === i.to);
  const bypassing = crossing.filter((i) => i.to.includes("/") && i.to !== `${unit(i.to)}/index.ts` && !loadsLess(i)).map(show);
  expect(bypassing).toEqual([]);
});

it("an index.ts exports names from its own folder, each one used by another folder", () => {
  const used = new Set(crossing.flatMap((i) => i.names.map((n) => `${unit(i.to)}:${n}`)));
  const problems = IMPORTS.filter((i) => /^[^/]+\/index\.ts$/.test(i.from)).flatMap((i) => {
    if (!i.local || unit(i.to) !== unit(i.from)) return [`${show(i)}: re-exports another folder or a package`];
    if (!i.exported) return [`${show(i)}: export * (name what other folders use)`];
    const unused = i.exported.filter((n) => !used.has(`${unit(i.from)}:${n}`) && !used.has(`${unit(i.from)}:*`));
    return unused.map((n) => `${i.from}: ${n} is used by no other folder`);
  });
  expect(problems).toEqual([]);
});

it("host code never imports guest code (the image builder bundles it from its entry's path)", () => {
  const intoGuest = local.filter((i) => unit(i.to) === "guest" && unit(i.from) !== "guest").map(show);
  expect(intoGuest).toEqual([]);
});

it("src/protocol imports only itself, the error model and node: built-ins (the guest bundles it)", () => {
  const outside = IMPORTS.filter((i) => unit(i.from) === "protocol" && !i.to.startsWith("node:") && !(i.local && (unit(i.to) === "protocol" || i.to === "errors.ts"))).map(show);
  expect(outside).toEqual([]);
});
