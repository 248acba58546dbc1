#!/usr/bin/env node
/**
 * Compiles the `vibewriter` command (src/cli/main.ts and everything it imports, npm packages
 * included) into ESM chunks under dist/cli/<build>/, so the command starts without a TypeScript
 * loader and without resolving thousands of package files (deepagents alone: 3.2 s unbundled,
 * 0.8 s bundled). `node scripts/build.mjs` builds (setup.sh: `--if-stale`); bin/vibewriter.js
 * imports `cliBuild()` to find the current build, or learn why there is none to use.
 *
 * Each build gets its own folder and `dist/cli/current.json` names the newest (written by
 * rename), so a running command keeps loading its lazy chunks from the build it started with while
 * another process rebuilds.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where builds go; `VIBEWRITER_CLI_DIST` moves it (tests build into a temporary folder). */
export const CLI_DIST = process.env.VIBEWRITER_CLI_DIST || join(ROOT, "dist", "cli");
const ENTRY = join(ROOT, "src", "cli", "main.ts");
/** Loaded from node_modules at run time: native binaries, or not needed by the command. */
const EXTERNAL = ["esbuild", "tsx", "better-sqlite3", "@langchain/langgraph-checkpoint-sqlite", "vitest"];
/** Builds older than this, other than the current one, are removed by the next build. */
const KEEP_OLD_BUILDS_MS = 60 * 60 * 1000;

/** What a build is made from: its newest modification time decides whether it is stale. */
function inputFiles() {
  const files = [join(ROOT, "scripts", "build.mjs"), join(ROOT, "package.json"), join(ROOT, "node_modules", ".package-lock.json")];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) files.push(p);
    }
  };
  walk(join(ROOT, "src"));
  return files;
}

function newestInputMtime() {
  let newest = 0;
  for (const f of inputFiles()) {
    try {
      newest = Math.max(newest, statSync(f).mtimeMs);
    } catch {
      // package-lock of node_modules absent (no npm ci yet): the import fails later with its own message
    }
  }
  return newest;
}

/**
 * The current build: `{ entry }` (a file URL to import) when it is up to date, else `{ stale }`
 * saying why it must be built.
 */
export function cliBuild(distDir = CLI_DIST) {
  let current;
  try {
    current = JSON.parse(readFileSync(join(distDir, "current.json"), "utf8"));
  } catch {
    return { stale: "no build yet" };
  }
  const entry = join(distDir, String(current.dir), "main.js");
  if (!existsSync(entry)) return { stale: `${entry} is missing` };
  if (newestInputMtime() > current.inputsMtime) return { stale: "src/ changed since the last build" };
  return { entry: pathToFileURL(entry).href };
}

/**
 * esbuild bundles every module into a chunk under dist/cli/<build>/; `import.meta.url` would then
 * name the chunk. Modules that find files next to themselves (skills/, samples/, the guest agent's
 * sources, the image builder's inputs, pdf.js) get their own original location instead, computed
 * from the chunk's, so the checkout can move.
 */
function originalImportMetaUrl(text, path, outDir) {
  if (!text.includes("import.meta.url")) return text;
  const rel = relative(outDir, path).split(sep).join("/");
  return text.replaceAll("import.meta.url", `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
}

const SRC = join(ROOT, "src");
const SURFACE_IMPORT = /\b(import|export)(\s+type)?\s*\{([^}]*)\}\s*from\s*"(\.[^"]*\/index\.ts)"/g;
/** A folder's surface, read from its index.ts (`export { a, type B } from "./file.ts";` lines): name → [file, its name there]. */
function surfaceOf(index, surfaces) {
  if (!surfaces.has(index)) {
    const names = new Map();
    for (const m of readFileSync(index, "utf8").matchAll(/export(?:\s+type)?\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
      for (const e of m[1].split(",").map((x) => x.trim().replace(/^type\s+/, "")).filter(Boolean)) {
        const [own, as = own] = e.split(/\s+as\s+/);
        names.set(as, [join(dirname(index), m[2]), own]);
      }
    }
    surfaces.set(index, names);
  }
  return surfaces.get(index);
}

/**
 * Another folder is imported through its index.ts, the folder's surface
 * (test/architecture/imports.test.ts). esbuild's code splitting does not see through a file that
 * re-exports: main and a command chunk importing the same index would share one chunk holding the
 * whole folder, loaded at start (`vibewriter --version` 0.3 s → 3 s). So the bundle takes each name
 * from the file the index takes it from; the line count stays, for the source maps.
 */
function importsPastSurfaces(text, path, surfaces) {
  return text.replace(SURFACE_IMPORT, (all, keyword, typeOnly, list, spec) => {
    const index = join(dirname(path), spec);
    if (typeOnly || dirname(dirname(index)) !== SRC) return all;
    const surface = surfaceOf(index, surfaces);
    const byFile = new Map();
    for (const e of list.split(",").map((x) => x.trim()).filter(Boolean)) {
      if (/^type\s/.test(e)) continue; // erased by the TypeScript loader anyway
      const [name, as = name] = e.split(/\s+as\s+/);
      const found = surface.get(name);
      if (!found) return all; // not on the surface: let esbuild report it
      const [file, own] = found;
      byFile.set(file, [...(byFile.get(file) ?? []), own === as ? own : `${own} as ${as}`]);
    }
    const direct = [...byFile].map(([file, names]) => `${keyword} { ${names.join(", ")} } from ${JSON.stringify(file)};`);
    return direct.join(" ") + "\n".repeat(all.split("\n").length - 1);
  });
}

function sourceRewrites(outDir) {
  return {
    name: "source-rewrites",
    setup(b) {
      const surfaces = new Map(); // index.ts → its surface, read once per build
      b.onLoad({ filter: /\.(ts|mjs|js|cjs)$/ }, async (args) => {
        const text = await readFile(args.path, "utf8");
        let contents = originalImportMetaUrl(text, args.path, outDir);
        if (args.path.startsWith(SRC + sep)) contents = importsPastSurfaces(contents, args.path, surfaces);
        if (contents === text) return undefined;
        return { contents, loader: args.path.endsWith(".ts") ? "ts" : "js" };
      });
    },
  };
}

/**
 * esbuild options for bundling `entryPoints` into `outDir` as the command is bundled (tests bundle
 * their own probes with them).
 */
export function bundleOptions(entryPoints, outDir) {
  return {
    entryPoints,
    outdir: outDir,
    bundle: true,
    splitting: true, // each command's module is a chunk loaded when that command runs
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    chunkNames: "[name]-[hash]", // one folder: the import.meta.url rewrite needs one depth
    sourcemap: "linked",
    sourcesContent: false, // stack traces point into src/, which is beside dist/
    // CommonJS packages inside ESM chunks still call require() for Node built-ins.
    banner: { js: 'import { createRequire as __vwCreateRequire } from "node:module"; const require = __vwCreateRequire(import.meta.url);' },
    plugins: [sourceRewrites(outDir)],
    logLevel: "warning",
    legalComments: "none",
  };
}

/** Builds `<distDir>/<build>/` and makes it current. Resolves the new entry's file URL. */
export async function buildCli({ distDir = CLI_DIST, log = () => {} } = {}) {
  const { build } = await import("esbuild");
  const inputsMtime = newestInputMtime(); // before reading: an edit during the build makes it stale
  const dir = `${Date.now().toString(36)}-${process.pid}`;
  const outDir = join(distDir, dir);
  await mkdir(outDir, { recursive: true });
  const started = Date.now();
  await build(bundleOptions({ main: ENTRY }, outDir));
  await writeFile(join(outDir, "package.json"), '{ "type": "module" }\n');
  const current = join(distDir, "current.json");
  await writeFile(`${current}.${process.pid}`, JSON.stringify({ dir, inputsMtime, builtAt: new Date().toISOString() }) + "\n");
  await rename(`${current}.${process.pid}`, current);
  log(`built ${relative(ROOT, outDir)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await pruneOldBuilds(distDir, dir);
  return pathToFileURL(join(outDir, "main.js")).href;
}

/** Removes earlier builds no running command can still be loading chunks from. */
async function pruneOldBuilds(distDir, keep) {
  for (const e of readdirSync(distDir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === keep) continue;
    const p = join(distDir, e.name);
    if (Date.now() - statSync(p).mtimeMs > KEEP_OLD_BUILDS_MS) await rm(p, { recursive: true, force: true });
  }
}

// `node scripts/build.mjs [--if-stale]`: build (only when missing or older than src/, with the flag).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = process.argv.includes("--if-stale") ? cliBuild() : {};
  if (current.entry) console.log("vibewriter: the compiled command is up to date");
  else await buildCli({ log: (line) => console.log(`vibewriter: ${line}`) });
}
