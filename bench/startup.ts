/**
 * Start-up of the `vibewriter` command, side by side in one run: the compiled command on PATH
 * (`vibewriter demo`, what setup installs), the same through `npx`, and the old route — `npx`
 * running the TypeScript sources through the tsx loader, with the spare VM the pool used to keep
 * (VIBEWRITER_FROM_SOURCE=1 VIBEWRITER_POOL_SIZE=1). For each: wall time of `demo` and of
 * `--version` (the floor), and the time from spawning the command to nats-server's spawn (a
 * wrapper named by NATS_SERVER_BIN notes it). Runs are interleaved, medians reported.
 *
 * `flock /tmp/heavy.lock npx tsx bench/startup.ts [runs=5]`; the last line is one JSON object,
 * `*_ratio` = ours / baseline (the old route).
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { imagesDir } from "../src/sandbox/image/build.ts";
import { median } from "./vm-ready.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "vibewriter.js");

interface Route {
  key: "path" | "npx" | "tsx";
  label: string;
  argv: (args: string[]) => string[];
  env: NodeJS.ProcessEnv;
}

interface Sample {
  wallS: number;
  natsSpawnS?: number;
}

function natsServerBinary(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/usr/bin"])) {
    const p = join(dir, "nats-server");
    if (existsSync(p)) return p;
  }
  throw new Error("nats-server is missing: run `bash scripts/setup.sh`");
}

/** Runs one command; resolves its wall time and when nats-server was spawned, from the same clock. */
function runOnce(route: Route, args: string[], spawnedFile: string): Promise<Sample> {
  rmSync(spawnedFile, { force: true });
  const [cmd, ...rest] = route.argv(args);
  const t0 = Date.now() / 1000;
  const child = spawn(cmd!, rest, { cwd: ROOT, env: route.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const wallS = Date.now() / 1000 - t0;
      if (code !== 0) return reject(new Error(`${route.label} ${args.join(" ")} exited ${code}:\n${out.slice(-2000)}\n${err.slice(-2000)}`));
      // The compiled routes must really be compiled: a stale build falls back to tsx with a notice.
      if (route.key !== "tsx" && /through tsx/.test(err)) return reject(new Error(`${route.label} ran the sources through tsx: ${err.trim()}`));
      const spawned = existsSync(spawnedFile) ? Number(readFileSync(spawnedFile, "utf8").split("\n")[0]) : undefined;
      resolve({ wallS, ...(spawned ? { natsSpawnS: spawned - t0 } : {}) });
    });
  });
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const work = mkdtempSync(join(tmpdir(), "vw-startup-"));
  try {
    // A fresh build of this checkout, whatever dist/cli holds; inside the checkout, where the
    // packages it leaves external (esbuild, tsx) resolve.
    const distDir = join(ROOT, "dist", `bench-startup-${process.pid}`);
    const { buildCli } = (await import(join(ROOT, "scripts", "build.mjs"))) as { buildCli: (o: { distDir: string }) => Promise<string> };
    await buildCli({ distDir });
    // Pinned: edits to src/ during the bench (a shared checkout) must not send the compiled routes to tsx.
    const current = join(distDir, "current.json");
    writeFileSync(current, JSON.stringify({ ...JSON.parse(readFileSync(current, "utf8")), inputsMtime: Number.MAX_SAFE_INTEGER }));

    const spawnedFile = join(work, "nats-spawned");
    const wrapper = join(work, "nats-server");
    writeFileSync(
      wrapper,
      `#!/bin/sh\n# notes when nats-server is started (not its --version probe)\ncase "$1" in --version) ;; *) date +%s.%N >> ${spawnedFile} ;; esac\nexec ${natsServerBinary()} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    // `vibewriter` on PATH, as setup installs it.
    const binDir = join(work, "bin");
    mkdirSync(binDir);
    symlinkSync(BIN, join(binDir, "vibewriter"));

    const base: NodeJS.ProcessEnv = {
      PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}`,
      HOME: process.env.HOME,
      VIBEWRITER_CLI_DIST: distDir,
      VIBEWRITER_IMAGES_DIR: imagesDir(), // the image and template setup built
      NATS_SERVER_BIN: wrapper,
    };
    // Each route has its own state (store, identities), kept across its runs as a user's is.
    const state = (key: string) => join(work, `state-${key}`);
    const routes: Route[] = [
      { key: "path", label: "vibewriter (compiled, on PATH)", argv: (a) => ["vibewriter", ...a], env: { ...base, VIBEWRITER_STATE_DIR: state("path") } },
      { key: "npx", label: "npx vibewriter (compiled)", argv: (a) => ["npx", "vibewriter", ...a], env: { ...base, VIBEWRITER_STATE_DIR: state("npx") } },
      {
        key: "tsx",
        label: "npx vibewriter (old: tsx, spare VM)",
        argv: (a) => ["npx", "vibewriter", ...a],
        env: { ...base, VIBEWRITER_STATE_DIR: state("tsx"), VIBEWRITER_FROM_SOURCE: "1", VIBEWRITER_POOL_SIZE: "1" },
      },
    ];

    const demo: Record<Route["key"], Sample[]> = { path: [], npx: [], tsx: [] };
    const version: Record<Route["key"], Sample[]> = { path: [], npx: [], tsx: [] };
    for (const r of routes) await runOnce(r, ["demo"], spawnedFile); // warm-up: creates the route's streams and identities
    for (let i = 0; i < runs; i++) {
      for (const r of routes) {
        demo[r.key].push(await runOnce(r, ["demo"], spawnedFile));
        version[r.key].push(await runOnce(r, ["--version"], spawnedFile));
      }
      process.stderr.write(`run ${i + 1}/${runs} done\n`);
    }

    const med = (xs: (number | undefined)[]) => median(xs.filter((x): x is number => x !== undefined));
    const fmt = (x: number) => x.toFixed(2).padStart(7);
    const row = (r: Route) => ({
      demo: med(demo[r.key].map((s) => s.wallS)),
      spawn: med(demo[r.key].map((s) => s.natsSpawnS)),
      version: med(version[r.key].map((s) => s.wallS)),
    });
    const rows = Object.fromEntries(routes.map((r) => [r.key, row(r)])) as Record<Route["key"], ReturnType<typeof row>>;
    const old = rows.tsx;
    console.log(`startup, ${runs} runs each (medians, s), ${new Date().toISOString()}, ${process.env.HOSTNAME ?? ""}`);
    console.log(`${"route".padEnd(38)} ${"demo".padStart(7)} ${"ratio".padStart(6)} ${"→nats".padStart(7)} ${"ratio".padStart(6)} ${"--version".padStart(9)} ${"ratio".padStart(6)}`);
    for (const r of routes) {
      const x = rows[r.key];
      console.log(
        `${r.label.padEnd(38)} ${fmt(x.demo)} ${(x.demo / old.demo).toFixed(2).padStart(6)} ${fmt(x.spawn)} ${(x.spawn / old.spawn).toFixed(2).padStart(6)} ${fmt(x.version).padStart(9)} ${(x.version / old.version).toFixed(2).padStart(6)}`,
      );
    }
    for (const r of routes) {
      console.log(`  ${r.key} demo walls: ${demo[r.key].map((s) => s.wallS.toFixed(2)).join(" ")}; →nats: ${demo[r.key].map((s) => s.natsSpawnS?.toFixed(2) ?? "-").join(" ")}`);
    }
    const n = (x: number) => Number(x.toFixed(3));
    console.log(
      JSON.stringify({
        bench: "startup",
        runs,
        demo_wall_s: n(rows.path.demo),
        nats_spawn_s: n(rows.path.spawn),
        version_wall_s: n(rows.path.version),
        npx_demo_wall_s: n(rows.npx.demo),
        npx_nats_spawn_s: n(rows.npx.spawn),
        baseline_demo_wall_s: n(old.demo),
        baseline_nats_spawn_s: n(old.spawn),
        baseline_version_wall_s: n(old.version),
        demo_wall_ratio: n(rows.path.demo / old.demo),
        nats_spawn_ratio: n(rows.path.spawn / old.spawn),
        version_wall_ratio: n(rows.path.version / old.version),
        npx_demo_wall_ratio: n(rows.npx.demo / old.demo),
        npx_nats_spawn_ratio: n(rows.npx.spawn / old.spawn),
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(join(ROOT, "dist", `bench-startup-${process.pid}`), { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
