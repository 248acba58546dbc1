import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pidAlive, statePath } from "../../config/index.ts";
import { buildGuestAgent } from "./guest-agent-bundle.ts";
import type { GuestImage } from "../vmm/driver.ts";
import { writeCpio, type CpioEntry } from "./cpio.ts";
import { ImageError, ImageErrorCode } from "./errors.ts";
import { publishDir } from "./publish.ts";
import { initramfsInit } from "./guest-scripts.ts";
import { fetchKernel, resolveKernelPackage } from "./kernel.ts";
import { debianMirror, hostSuite } from "./host-release.ts";
import { nodeRuntime, nodeRuntimeKey, refusesSetIds } from "./node-runtime.ts";
import { nodeSetIdShim } from "./node-setid-shim.ts";
import { baseKey, buildRootfs, ensureBase } from "./rootfs.ts";

/**
 * Builds the guest image (kernel, initramfs, root disk) into `stateDir()/images/<hash>/`, where the
 * hash covers every input: the kernel package, the host's suite and mirror (the base), the builder's
 * own sources (scripts, module list), the guest agent bundle, Node with its libraries and builtins,
 * busybox and the base's package list. An image whose
 * hash is already there is reused, so setup can run this every time.
 */

/**
 * Kernel arguments every VM of this image needs (drivers add accelerator-specific ones).
 * CPU-vulnerability mitigations are the kernel's own choice (no `mitigations=off`): they guard the
 * guest kernel and agent from the sandbox user's programs, and cost nothing measurable under TCG
 * (bench/guest-mitigations.ts). No `nokaslr`: booted through its PVH entry the kernel is never
 * randomised (the bzImage decompressor does that), and clones of one template share its layout.
 */
export const IMAGE_CMDLINE = "console=ttyS0 quiet cryptomgr.notests random.trust_cpu=on no_timer_check rdinit=/init";

export interface BuildImageOptions {
  /** Where images live; default `stateDir()/images`. */
  imagesDir?: string;
  node?: string;
  busybox?: string;
  /** A ready guest-agent bundle; default: `buildGuestAgent()` from src/guest. */
  agent?: string;
  log?: (line: string) => void;
}

export function imagesDir(): string {
  return process.env.VIBEWRITER_IMAGES_DIR || statePath("images");
}

const HERE = fileURLToPath(new URL(".", import.meta.url));
/** The builder's sources that decide what goes into an image (part of its hash). */
const IMAGE_SOURCES = ["build.ts", "cpio.ts", "guest-scripts.ts", "kernel.ts", "node-runtime.ts", "node-setid-shim.ts", "rootfs.ts", "vmlinux.ts"] as const;

export async function buildImage(opts: BuildImageOptions = {}): Promise<GuestImage & { built: boolean }> {
  const root = opts.imagesDir ?? imagesDir();
  const cache = join(root, "cache");
  const log = opts.log ?? (() => {});
  const node = opts.node ?? "/usr/bin/node";
  const busybox = opts.busybox ?? "/bin/busybox";
  for (const [what, p] of [["node", node], ["busybox (apt-get install busybox-static)", busybox]] as const) {
    if (!existsSync(p)) throw new ImageError(ImageErrorCode.ToolMissing, `${what} not found at ${p}: run \`bash scripts/setup.sh\``);
  }
  await mkdir(cache, { recursive: true });

  const agent = opts.agent ?? (await bundleAgent(join(cache, "agent")));
  const pkg = await resolveKernelPackage();
  const suite = await hostSuite();
  const mirror = await debianMirror(suite);
  const runtime = await nodeRuntime(node);
  if (runtime.refusesSetIds) await checkSetIdShim(node, join(cache, "node-setid-shim.so"));

  const h = createHash("sha256");
  h.update(JSON.stringify({ kernel: pkg, suite, base: baseKey(suite, mirror), cmdline: IMAGE_CMDLINE }));
  for (const f of IMAGE_SOURCES) h.update(f).update(await readFile(join(HERE, f)));
  h.update(await sha256File(agent));
  // System files: size + mtime identify a package update without reading 100 MB each time. Node
  // counts with its libraries and builtins (Debian's /usr/bin/node is a stub over libnode).
  h.update(await nodeRuntimeKey(node, runtime));
  h.update(await stat(busybox).then((st) => `${busybox}:${st.size}:${st.mtimeMs}`));
  const hash = h.digest("hex").slice(0, 20);

  const dir = join(root, hash);
  const image: GuestImage = {
    hash,
    dir,
    kernel: join(dir, "vmlinux"),
    initrd: join(dir, "initrd.cpio"),
    rootfs: join(dir, "rootfs.ext4"),
    cmdline: IMAGE_CMDLINE,
  };
  if (existsSync(join(dir, "image.json"))) {
    await writeCurrent(root, image);
    return { ...image, built: false };
  }

  log(`building guest image ${hash}`);
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    log(`kernel ${pkg.name} ${pkg.version}`);
    const kernel = await fetchKernel(cache, pkg);
    await link(kernel.vmlinux, join(work, "vmlinux")).catch(() => copyFile(kernel.vmlinux, join(work, "vmlinux")));

    const entries: CpioEntry[] = [
      { path: "bin", type: "dir" },
      { path: "dev", type: "dir" },
      { path: "dev/console", type: "chardev", major: 5, minor: 1 },
      { path: "lib", type: "dir" },
      { path: "lib/modules", type: "dir" },
      { path: "bin/busybox", type: "file", data: await readFile(busybox), mode: 0o755 },
      { path: "init", type: "file", data: Buffer.from(initramfsInit(kernel.modules.map((m) => basename(m)))), mode: 0o755 },
    ];
    for (const m of kernel.modules) entries.push({ path: `lib/modules/${basename(m)}`, type: "file", data: await readFile(m) });
    await writeFile(join(work, "initrd.cpio"), writeCpio(entries));

    const base = await ensureBase(cache, suite, mirror, log);
    log("root disk (mkfs.ext4 -d)");
    await buildRootfs({ base, node, nodeRuntime: runtime, agent, busybox }, join(work, "rootfs.ext4"));

    const final = { ...image, kernelPackage: pkg, suite, builtinModules: kernel.builtin, builtAt: new Date().toISOString() };
    await writeFile(join(work, "image.json"), JSON.stringify(final, null, 2));
    await publishDir(work, dir);
    await writeCurrent(root, image);
    await pruneImages(root, KEEP_IMAGES);
    return { ...image, built: true };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

/** Images kept on disk: the new one and the one before (a running pool may still use it). */
const KEEP_IMAGES = 2;

/** Removes all but the `keep` newest images (by build time) and leftovers of dead builds. */
export async function pruneImages(root: string, keep: number): Promise<string[]> {
  const removed: string[] = [];
  const images: { dir: string; mtime: number }[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === "cache") continue;
    const dir = join(root, e.name);
    const tmp = /\.tmp-(\d+)$/.exec(e.name);
    if (tmp) {
      if (!pidAlive(Number(tmp[1]))) {
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
      continue;
    }
    const info = await stat(join(dir, "image.json")).catch(() => null);
    if (info) images.push({ dir, mtime: info.mtimeMs });
  }
  images.sort((a, b) => b.mtime - a.mtime);
  for (const { dir } of images.slice(keep)) {
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** The image setup built last, without rebuilding anything; a clear error when there is none. */
export async function currentImage(root = imagesDir()): Promise<GuestImage> {
  const file = join(root, "current.json");
  let image: GuestImage;
  try {
    image = JSON.parse(await readFile(file, "utf8")) as GuestImage;
  } catch (err) {
    throw new ImageError(ImageErrorCode.NotBuilt, `no guest image in ${root}: run \`bash scripts/setup.sh\``, { cause: err });
  }
  for (const f of [image.kernel, image.initrd, image.rootfs]) {
    if (!existsSync(f)) throw new ImageError(ImageErrorCode.NotBuilt, `guest image file ${f} is missing: run \`bash scripts/setup.sh\``);
  }
  return image;
}

/** The guest agent could not lower its ids: fail the build here, not in a template VM that never answers. */
async function checkSetIdShim(node: string, shimFile: string): Promise<void> {
  await writeFile(shimFile, nodeSetIdShim());
  if (await refusesSetIds(node, { UV_USE_IO_URING: "0", LD_PRELOAD: shimFile })) {
    throw new ImageError(ImageErrorCode.CommandFailed, `${node} refuses process.set*id() (CVE-2024-22017) even with io_uring off and ${shimFile} preloaded: the guest agent could not drop privileges`);
  }
}

/** The guest agent, bundled by src/guest's `buildGuestAgent` (esbuild, one dependency-free file). */
async function bundleAgent(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, "agent.mjs");
  try {
    await buildGuestAgent(out);
  } catch (err) {
    throw new ImageError(ImageErrorCode.AgentMissing, `bundling the guest agent failed: ${(err as Error).message}`, { cause: err });
  }
  if (!existsSync(out)) throw new ImageError(ImageErrorCode.AgentMissing, `buildGuestAgent did not write ${out}`);
  return out;
}

/** current.json is replaced atomically: readers in other processes never see it half-written. */
async function writeCurrent(root: string, image: GuestImage): Promise<void> {
  const tmp = join(root, `current.json.tmp-${process.pid}`);
  await writeFile(tmp, JSON.stringify(image, null, 2));
  await rename(tmp, join(root, "current.json"));
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}
