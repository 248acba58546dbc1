/**
 * bin/vibewriter.js runs the compiled command (scripts/build.mjs) when its build is up to date, and
 * the TypeScript sources through tsx, after a one-line notice, when the build is missing or older
 * than src/. The compiled command finds the files its modules read next to themselves, and runs
 * the whole demo (real nats-server started by the command itself, a real VM).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { BUILTIN_SKILLS_DIR } from "../../src/agent/skills.ts";
import { SAMPLES_DIR } from "../../src/agent/samples.ts";
import { DEFAULT_AGENT_OUT, GUEST_ENTRY } from "../../src/sandbox/image/guest-agent-bundle.ts";
import { imagesDir } from "../../src/sandbox/image/build.ts";
// @ts-expect-error: plain ESM build script, no type declarations
import { buildCli, bundleOptions, cliBuild } from "../../scripts/build.mjs";
import { requireGuestImage } from "../cli/guest-image.ts";
import { spawnCli } from "../cli/child.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NOTICE = /^vibewriter: running the TypeScript sources through tsx \(compiled build: (.*); `npm run build` makes one\)\.\n$/;
const IMAGES_DIR = imagesDir(); // before any test points the state dir elsewhere

/** Inside the checkout: the packages a build leaves external (esbuild, tsx) resolve from there. */
const distDir = join(ROOT, "dist", `test-bin-${process.pid}`);
let built: { dir: string; inputsMtime: number };

/** Marks the build as made from sources as new as `inputsMtime` (others may be editing src/ meanwhile). */
function setBuildTime(inputsMtime: number): void {
  writeFileSync(join(distDir, "current.json"), JSON.stringify({ ...built, inputsMtime }));
}

async function version(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(["--version"], { ...process.env, VIBEWRITER_CLI_DIST: distDir, ...env });
  const { code } = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

beforeAll(async () => {
  const before = statSync(join(ROOT, "src", "cli", "main.ts")).mtimeMs;
  await buildCli({ distDir });
  built = JSON.parse(readFileSync(join(distDir, "current.json"), "utf8"));
  // The build records how new its sources were, so a later edit makes it stale.
  expect(built.inputsMtime).toBeGreaterThanOrEqual(before);
  expect(existsSync(join(distDir, built.dir, "main.js"))).toBe(true);
  expect(readdirSync(join(distDir, built.dir)).some((f) => f.endsWith(".js.map"))).toBe(true);
});
afterAll(() => rmSync(distDir, { recursive: true, force: true }));

describe("bin/vibewriter.js", () => {
  it("runs the compiled command when the build is up to date: no notice", async () => {
    setBuildTime(Number.MAX_SAFE_INTEGER);
    expect(cliBuild(distDir).entry).toBe(`file://${join(distDir, built.dir, "main.js")}`);
    expect(await version({})).toEqual({ code: 0, stdout: "vibewriter 0.1.0\n", stderr: "" });
  });

  it("runs the sources through tsx, saying so in one line, when the build is older than src/", async () => {
    setBuildTime(0);
    expect(cliBuild(distDir)).toEqual({ stale: "src/ changed since the last build" });
    const r = await version({});
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("vibewriter 0.1.0\n");
    expect(r.stderr).toMatch(NOTICE);
    expect(NOTICE.exec(r.stderr)![1]).toBe("src/ changed since the last build");
  });

  it("runs the sources through tsx when there is no build, or its entry is gone", async () => {
    const empty = mkdtempSync(join(tmpdir(), "vw-no-build-"));
    try {
      const r = await version({ VIBEWRITER_CLI_DIST: empty });
      expect(r).toMatchObject({ code: 0, stdout: "vibewriter 0.1.0\n" });
      expect(NOTICE.exec(r.stderr)?.[1]).toBe("no build yet");
      mkdirSync(join(empty, "gone"));
      writeFileSync(join(empty, "current.json"), JSON.stringify({ dir: "gone", inputsMtime: Number.MAX_SAFE_INTEGER }));
      expect(cliBuild(empty).stale).toMatch(/gone\/main\.js is missing$/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("VIBEWRITER_FROM_SOURCE=1 runs the sources through tsx without a notice", async () => {
    setBuildTime(Number.MAX_SAFE_INTEGER);
    expect(await version({ VIBEWRITER_FROM_SOURCE: "1" })).toEqual({ code: 0, stdout: "vibewriter 0.1.0\n", stderr: "" });
  });

  it("compiled modules find skills/, samples/ and the guest agent's sources where the sources do", async () => {
    const out = join(distDir, "probe");
    await build(bundleOptions({ probe: fileURLToPath(new URL("./fixtures/module-paths.ts", import.meta.url)) }, out));
    const seen = JSON.parse(execFileSync(process.execPath, [join(out, "probe.js")], { encoding: "utf8" }));
    expect(seen).toEqual({ BUILTIN_SKILLS_DIR, SAMPLES_DIR, GUEST_ENTRY, DEFAULT_AGENT_OUT });
    for (const p of [BUILTIN_SKILLS_DIR, SAMPLES_DIR, GUEST_ENTRY]) expect(existsSync(p)).toBe(true);
  });
});

describe("the compiled demo", () => {
  it("runs end to end: its own nats-server, the VM, the PDF source parsed, the verified report; nothing left running", async () => {
    await requireGuestImage();
    setBuildTime(Number.MAX_SAFE_INTEGER);
    const state = mkdtempSync(join(tmpdir(), "vw-compiled-demo-"));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, VIBEWRITER_CLI_DIST: distDir, VIBEWRITER_STATE_DIR: state, VIBEWRITER_IMAGES_DIR: IMAGES_DIR };
      delete env.NATS_URL;
      delete env.VIBEWRITER_POOL_SIZE;
      const child = spawnCli(["demo", "--json"], env);
      const { code } = await child.exited;
      expect(child.stderr()).toBe("");
      expect(code).toBe(0);
      const result = JSON.parse(child.stdout());
      expect(result).toMatchObject({ ok: true, scripted: true, status: "completed" });
      expect(result.report).toContain("# Due diligence: Northwind Solar Holdings, Inc.");
      expect(result.report).toContain("lender-notice.pdf");
      // The server the command started stopped with it: no lease left, no process on the store.
      expect(readdirSync(join(state, "nats", "leases"))).toEqual([]);
      const onStore = readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(state);
          } catch {
            return false;
          }
        });
      expect(onStore).toEqual([]);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 300_000);
});
