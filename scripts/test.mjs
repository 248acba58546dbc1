#!/usr/bin/env node
/**
 * `npm test`: the whole suite as two vitest processes at once, each running one file at a time:
 *   vm    — the files that start VMs (and every file vitest.config.ts does not list as no-VM);
 *   no-vm — the files in NO_VM_FILES (vitest.config.ts): nats-server, host processes, pure code.
 * Under TCG a VM file keeps about one core busy; the other lane uses the second one. Each output
 * line is prefixed with its lane; a summary of both lanes comes last; the exit code is non-zero
 * when either lane failed.
 *
 * The no-VM lane finds a stand-in `qemu-system-x86_64` first on its PATH: it answers `--version`
 * with the real QEMU's answer and refuses to boot anything, so a file wrongly listed as no-VM fails
 * saying so instead of running two VMs at once.
 *
 * `npm test -- <vitest args>` (e.g. one file) runs plain `vitest run <args>`, one lane, as before.
 */
import { spawn } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const vitestPkg = require.resolve("vitest/package.json");
const VITEST = join(dirname(vitestPkg), JSON.parse(readFileSync(vitestPkg, "utf8")).bin.vitest);

const args = process.argv.slice(2);
if (args.length > 0) {
  const child = spawn(process.execPath, [VITEST, "run", ...args], { stdio: "inherit" });
  forwardSignals([child]);
  child.on("close", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await runLanes();
}

async function runLanes() {
  const standIn = qemuStandIn();
  const started = Date.now();
  const color = process.stdout.isTTY ? { FORCE_COLOR: "1" } : {};
  const lanes = [
    { name: "vm", env: { ...process.env, ...color, VIBEWRITER_TEST_LANE: "vm" } },
    { name: "no-vm", env: { ...process.env, ...color, VIBEWRITER_TEST_LANE: "no-vm", PATH: standIn.dir + delimiter + (process.env.PATH ?? "") } },
  ];
  const width = Math.max(...lanes.map((l) => l.name.length));
  console.log("npm test: two vitest processes at once, lines prefixed with their lane — vm: the files that start VMs; no-vm: NO_VM_FILES in vitest.config.ts");
  const children = [];
  forwardSignals(children);
  const results = await Promise.all(
    lanes.map(
      (lane) =>
        new Promise((resolve) => {
          const t0 = Date.now();
          const child = spawn(process.execPath, [VITEST, "run"], { env: lane.env, stdio: ["ignore", "pipe", "pipe"] });
          children.push(child);
          const tag = `${lane.name.padEnd(width)} │ `;
          const summary = [];
          for (const [from, to] of [
            [child.stdout, process.stdout],
            [child.stderr, process.stderr],
          ]) {
            createInterface({ input: from, crlfDelay: Infinity }).on("line", (line) => {
              to.write(tag + line + "\n");
              const plain = line.replace(/\x1b\[[0-9;]*m/g, "").trim();
              if (/^(Test Files|Tests|Errors)\s/.test(plain)) summary.push(plain.replace(/\s+/g, " "));
            });
          }
          child.on("close", (code, signal) => resolve({ lane: lane.name, code: code ?? 1, signal, summary, seconds: (Date.now() - t0) / 1000 }));
        }),
    ),
  );
  standIn.remove();
  const failed = results.filter((r) => r.code !== 0);
  console.log(`\nnpm test: two lanes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const r of results) {
    const how = r.signal ? `killed by ${r.signal}` : r.code === 0 ? "passed" : `FAILED (exit ${r.code})`;
    console.log(`  ${r.lane.padEnd(width)}  ${how}, ${r.seconds.toFixed(1)} s — ${r.summary.join(" · ") || "no summary printed"}`);
  }
  process.exit(failed.length > 0 ? 1 : 0);
}

/** A directory holding the no-VM lane's `qemu-system-x86_64`: the real `--version`, no boot. */
function qemuStandIn() {
  const real = onPath("qemu-system-x86_64");
  const dir = mkdtempSync(join(tmpdir(), "vibewriter-no-vm-lane-"));
  const version = real ? `exec '${real.replace(/'/g, "'\\''")}' "$@"` : `echo "qemu-system-x86_64: not found" >&2; exit 127`;
  writeFileSync(
    join(dir, "qemu-system-x86_64"),
    `#!/bin/sh
# npm test's no-VM lane (scripts/test.mjs): QEMU's version, but never a VM.
if [ "$#" -eq 1 ] && [ "$1" = "--version" ]; then ${version}; fi
echo "npm test: a file of the no-VM lane started QEMU: remove it from NO_VM_FILES in vitest.config.ts" >&2
exit 1
`,
  );
  chmodSync(join(dir, "qemu-system-x86_64"), 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function onPath(name) {
  for (const d of (process.env.PATH ?? "").split(delimiter)) {
    if (!d) continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * SIGTERM/SIGHUP (a CI timeout, a closed session) are passed on to the vitest processes, which stop
 * their files and exit. Ctrl-C reaches them from the terminal already (one process group): this
 * process only keeps waiting for them, to print what they say and exit with their status.
 */
function forwardSignals(children) {
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill(sig)));
  process.on("SIGINT", () => {});
}
