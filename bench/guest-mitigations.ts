/**
 * What the guest kernel's CPU-vulnerability mitigations cost: the same image booted with
 * `mitigations=off` (baseline, the old command line) and with the kernel's default mitigations
 * (ours), alternating run by run (the first side swaps each run). Per run: a cold boot to the agent answering, then on that VM
 * the commands and file requests the sandbox bench times — `true`, Python's start, a sweep of
 * syscall-bound loops (`dd bs=1` over 1,000 / 30,000 / 300,000 bytes: two syscalls a byte) — and a grep through the
 * agent. Medians; `*_ratio` = mitigations on / off.
 * `npx tsx bench/guest-mitigations.ts [runs]` (default 3).
 */
import { currentImage } from "../src/sandbox/image/build.ts";
import { GuestClient } from "../src/sandbox/guest-client.ts";
import { DEFAULT_SHAPE } from "../src/sandbox/pool.ts";
import type { GuestImage } from "../src/sandbox/vmm/driver.ts";
import { QemuDriver } from "../src/sandbox/vmm/qemu.ts";
import { median } from "./vm-ready.ts";

const REPEATS = 5;
const DD_SIZES = [1_000, 30_000, 300_000] as const;

type Figures = Record<string, number[]>;

function withoutMitigationsOff(cmdline: string): string {
  return cmdline.split(/\s+/).filter((a) => a !== "mitigations=off").join(" ");
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function oneRun(driver: QemuDriver, image: GuestImage, into: Figures): Promise<string> {
  const add = (k: string, v: number) => (into[k] ??= []).push(v);
  const t = performance.now();
  const vm = await driver.start({ image, ...DEFAULT_SHAPE });
  await vm.ready(180_000);
  add("boot_ms", performance.now() - t);
  const c = await GuestClient.connect(await vm.channel());
  try {
    const sh = (shell: string) => c.exec({ shell, cwd: "/workspace", timeoutMs: 120_000 });
    const vuln = (await sh("grep . /sys/devices/system/cpu/vulnerabilities/spectre_v1 /sys/devices/system/cpu/vulnerabilities/spectre_v2 | sed 's#.*/##'")).output.toString().trim();
    await sh("mkdir -p g && for i in $(seq 200); do echo \"line $i needle-$((i % 7))\" > g/f$i.txt; done");
    for (let i = 0; i < REPEATS; i++) {
      add("exec_true_ms", await timed(() => sh("true")));
      add("python_start_ms", await timed(() => sh("python3 -c 'import json, os, re'")));
      for (const n of DD_SIZES) add(`dd_${n}_ms`, await timed(() => sh(`dd if=/dev/zero of=/dev/null bs=1 count=${n} 2>/dev/null`)));
      add("grep_200_ms", await timed(() => c.request("grep", { pattern: "needle-3", path: "/workspace/g" })));
    }
    return vuln;
  } finally {
    c.close();
    await vm.kill();
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const image = await currentImage();
  const driver = new QemuDriver();
  const accel = await driver.accel(image);
  const off: GuestImage = { ...image, cmdline: image.cmdline.includes("mitigations=off") ? image.cmdline : `${image.cmdline} mitigations=off` };
  const on: GuestImage = { ...image, cmdline: withoutMitigationsOff(image.cmdline) };
  console.log(`image ${image.hash}, ${accel}, ${runs} boots each side, ${REPEATS} repeats per boot, alternating`);
  const base: Figures = {};
  const ours: Figures = {};
  let vulnOff = "";
  let vulnOn = "";
  // Which side goes first swaps each run, so a load that drifts during the bench favours neither.
  for (let r = 0; r < runs; r++) {
    if (r % 2 === 0) {
      vulnOff = await oneRun(driver, off, base);
      vulnOn = await oneRun(driver, on, ours);
    } else {
      vulnOn = await oneRun(driver, on, ours);
      vulnOff = await oneRun(driver, off, base);
    }
  }
  console.log(`mitigations=off: ${vulnOff.replaceAll("\n", " | ")}`);
  console.log(`default:         ${vulnOn.replaceAll("\n", " | ")}`);
  console.log(`${"figure".padEnd(18)} ${"off (baseline)".padStart(15)} ${"on (ours)".padStart(12)} ${"ratio".padStart(7)}`);
  const json: Record<string, number | string> = { accel, runs, repeats: REPEATS };
  for (const k of Object.keys(base)) {
    const b = median(base[k]!);
    const o = median(ours[k]!);
    console.log(`${k.padEnd(18)} ${b.toFixed(1).padStart(15)} ${o.toFixed(1).padStart(12)} ${(o / b).toFixed(2).padStart(7)}`);
    const name = k.replace(/_ms$/, "");
    json[`${name}_off_ms`] = Number(b.toFixed(1));
    json[`${name}_on_ms`] = Number(o.toFixed(1));
    json[`${name}_ratio`] = Number((o / b).toFixed(3));
  }
  console.log(JSON.stringify(json));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
