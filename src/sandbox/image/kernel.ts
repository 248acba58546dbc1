import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { proxyEnv } from "../../config/index.ts";
import { ImageError, ImageErrorCode } from "./errors.ts";
import { publishDir } from "./publish.ts";
import { run } from "./run.ts";
import { extractVmlinux } from "./vmlinux.ts";

/**
 * The guest kernel: Debian's own (`linux-image-*-amd64`), fetched with `apt-get download` and
 * unpacked with `dpkg-deb -x` into a cache — never installed on the host. We keep the uncompressed
 * `vmlinux` (PVH boot) and only the modules the guest needs, in load order, as plain `.ko` files.
 * Layout and built-ins are read from the package itself: bookworm ships /lib/modules/…/*.ko,
 * trixie /usr/lib/modules/…/*.ko.xz with virtio_console built in.
 */

/** Modules the guest loads, by name; their dependencies are added from each module's modinfo. */
export const GUEST_MODULES = [
  "virtio_mmio",
  "virtio_console",
  "virtio_blk",
  // ext4 asks the crypto API for "crc32c" at mount; nothing can modprobe it, so load it up front.
  "crc32c_generic",
  "ext4",
  "virtio_net",
  // A virtio RNG seeds the kernel's CRNG at once; without it (TCG has no RDRAND) Node's first
  // getrandom() waits seconds for jitter entropy.
  "virtio_rng",
] as const;

export interface GuestKernel {
  /** Debian package name and version, e.g. linux-image-6.1.0-56-amd64 6.1.192-2. */
  packageName: string;
  packageVersion: string;
  dir: string;
  vmlinux: string;
  /** Module files (plain `.ko`) in dependency order (load them first to last). */
  modules: string[];
  /** Guest modules this kernel has built in (`modules.builtin`): nothing to load. Absent in old caches. */
  builtin?: string[];
}

/** Resolves the kernel package the metapackage points at (or `VIBEWRITER_KERNEL_PACKAGE`). */
export async function resolveKernelPackage(env: NodeJS.ProcessEnv = process.env): Promise<{ name: string; version: string }> {
  let name = env.VIBEWRITER_KERNEL_PACKAGE;
  if (!name) {
    const deps = (await run(["apt-cache", "depends", "linux-image-amd64"])).toString("utf8");
    const m = /Depends:\s*(linux-image-\S+-amd64)/.exec(deps);
    if (!m) {
      throw new ImageError(ImageErrorCode.DownloadFailed, "apt-cache knows no linux-image-amd64: run `apt-get update` first");
    }
    name = m[1]!;
  }
  const policy = (await run(["apt-cache", "policy", name])).toString("utf8");
  const v = /Candidate:\s*(\S+)/.exec(policy);
  if (!v || v[1] === "(none)") throw new ImageError(ImageErrorCode.DownloadFailed, `apt has no candidate for ${name}`);
  return { name, version: v[1]! };
}

/** Fetches (once) and prepares the kernel under `cacheRoot/kernel/<package>_<version>/`. */
export async function fetchKernel(cacheRoot: string, pkg: { name: string; version: string }): Promise<GuestKernel> {
  // Keyed by the module list too: a module added to GUEST_MODULES must not be served from an old cache.
  const modulesKey = createHash("sha256").update(GUEST_MODULES.join(",")).digest("hex").slice(0, 8);
  const dir = join(cacheRoot, "kernel", `${pkg.name}_${pkg.version}_${modulesKey}`);
  const manifest = join(dir, "kernel.json");
  if (existsSync(manifest)) return JSON.parse(await readFile(manifest, "utf8")) as GuestKernel;

  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, "modules"), { recursive: true });
  try {
    // apt-get download writes into the current directory.
    await run(["apt-get", "download", `${pkg.name}=${pkg.version}`], { cwd: work, extraEnv: proxyEnv() });
    const deb = (await readdir(work)).find((f) => f.endsWith(".deb"));
    if (!deb) throw new ImageError(ImageErrorCode.DownloadFailed, `apt-get download ${pkg.name} produced no .deb`);
    const tree = join(work, "tree");
    await run(["dpkg-deb", "-x", join(work, deb), tree]);
    const vmlinuz = (await readdir(join(tree, "boot"))).find((f) => f.startsWith("vmlinuz-"));
    if (!vmlinuz) throw new ImageError(ImageErrorCode.BadKernel, `${deb} holds no /boot/vmlinuz-*`);
    await extractVmlinux(join(tree, "boot", vmlinuz), join(work, "vmlinux"));

    const release = vmlinuz.slice("vmlinuz-".length);
    const modDir = moduleDir(tree, release);
    const builtin = await builtinModules(modDir);
    const found = await indexModules(join(modDir, "kernel"));
    // Compressed modules (.ko.xz on trixie) are unpacked here: busybox insmod and moduleDepends read plain .ko.
    const plain = async (name: string): Promise<string> => {
      const out = join(work, "modules", `${name}.ko`);
      if (!existsSync(out)) await writeFile(out, await decompressModule(found.get(name)!));
      return out;
    };
    const order = await loadOrder(GUEST_MODULES, found, builtin, plain);
    const modules: string[] = [];
    for (const name of order) {
      await plain(name);
      modules.push(join(dir, "modules", `${name}.ko`));
    }
    await rm(tree, { recursive: true, force: true });
    await rm(join(work, deb), { force: true });
    const kernel: GuestKernel = {
      packageName: pkg.name,
      packageVersion: pkg.version,
      dir,
      vmlinux: join(dir, "vmlinux"),
      modules,
      builtin: GUEST_MODULES.filter((m) => builtin.has(m)),
    };
    await writeFile(join(work, "kernel.json"), JSON.stringify(kernel, null, 2));
    await publishDir(work, dir);
    return kernel;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

/** The package's module tree: /usr/lib/modules/<release> (merged /usr, trixie) or /lib/modules/<release>. */
function moduleDir(tree: string, release: string): string {
  for (const d of [join(tree, "usr", "lib", "modules", release), join(tree, "lib", "modules", release)]) {
    if (existsSync(join(d, "kernel"))) return d;
  }
  throw new ImageError(ImageErrorCode.BadKernel, `the kernel package has no modules for ${release} under /usr/lib/modules or /lib/modules`);
}

const MODULE_SUFFIX = /\.ko(\.xz|\.zst|\.gz)?$/;

/** Module name as the kernel spells it: dashes become underscores. */
function moduleName(file: string): string {
  return basename(file).replace(MODULE_SUFFIX, "").replace(/-/g, "_");
}

/** Names of the modules built into the kernel image (`modules.builtin`, one path a line). */
export async function builtinModules(modDir: string): Promise<Set<string>> {
  const text = await readFile(join(modDir, "modules.builtin"), "utf8").catch(() => "");
  return new Set(text.split("\n").filter(Boolean).map(moduleName));
}

/** Module name → path of its file (.ko, .ko.xz, .ko.zst or .ko.gz) under `root`. */
async function indexModules(root: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (MODULE_SUFFIX.test(e.name)) map.set(moduleName(e.name), p);
    }
  };
  await walk(root);
  return map;
}

/** The plain ELF of a module file, whatever it was compressed with (xz, zstd, gzip or none). */
export async function decompressModule(file: string): Promise<Buffer> {
  const tool = file.endsWith(".xz") ? ["xz", "-dc"] : file.endsWith(".zst") ? ["zstd", "-dcq"] : file.endsWith(".gz") ? ["gzip", "-dc"] : null;
  if (!tool) return readFile(file);
  try {
    return await run([...tool, file]);
  } catch (err) {
    const pkg = tool[0] === "xz" ? "xz-utils" : tool[0]!;
    throw new ImageError(ImageErrorCode.ToolMissing, `cannot unpack kernel module ${basename(file)} with ${tool[0]} (apt-get install ${pkg}; bash scripts/setup.sh does): ${(err as Error).message}`, { cause: err });
  }
}

/** The `depends=` entry of a module's .modinfo section (plain NUL-separated key=value strings). */
export async function moduleDepends(koPath: string): Promise<string[]> {
  const data = await readFile(koPath);
  const key = Buffer.from("\0depends=");
  const at = data.indexOf(key);
  if (at < 0) return [];
  const end = data.indexOf(0, at + key.length);
  const value = data.subarray(at + key.length, end).toString("utf8");
  return value ? value.split(",").map((s) => s.replace(/-/g, "_")) : [];
}

/** Dependencies first (depth-first post-order), each module once; built-in ones are skipped. */
async function loadOrder(
  wanted: readonly string[],
  found: Map<string, string>,
  builtin: Set<string>,
  plain: (name: string) => Promise<string>,
): Promise<string[]> {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string, chain: string[]): Promise<void> => {
    if (seen.has(name) || builtin.has(name)) return;
    seen.add(name);
    if (!found.has(name)) {
      throw new ImageError(ImageErrorCode.ModuleMissing, `kernel module ${name} is neither in the package nor built in (needed by ${chain.join(" → ") || "the guest"})`);
    }
    for (const dep of await moduleDepends(await plain(name))) await visit(dep, [...chain, name]);
    order.push(name);
  };
  for (const name of wanted) await visit(name, []);
  return order;
}
