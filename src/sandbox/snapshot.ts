import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { VmmError, VmmErrorCode, type Accel, type GuestImage, type VmmDriver, type VmSnapshot, type VmSpec } from "./vmm/driver.ts";
import { pidAlive } from "../config/index.ts";

/**
 * Template snapshots: one booted-and-ready VM per (image, driver build, accelerator, VM shape),
 * saved once next to the image under `<image>/templates/<key>/`, and restored copy-on-write for
 * every sandbox. A new image, QEMU version or accelerator gives a new key, hence a new template.
 * Concurrent builders (several test processes) serialise on a lock file.
 */
export type TemplateShape = Pick<VmSpec, "memoryMiB" | "vcpus" | "workspaceMiB" | "network">;

export interface EnsureTemplateOptions {
  readyTimeoutMs?: number;
  log?: (line: string) => void;
  /** Give up waiting for another process's build after this long. */
  lockTimeoutMs?: number;
}

export async function templateKey(driver: VmmDriver, image: GuestImage, shape: TemplateShape, accel: Accel): Promise<string> {
  const version = await driver.version();
  const s = { image: image.hash, driver: driver.name, version, accel, m: shape.memoryMiB, c: shape.vcpus, w: shape.workspaceMiB, n: shape.network };
  return createHash("sha256").update(JSON.stringify(s)).digest("hex").slice(0, 16);
}

/** The template snapshot for this shape, building it (boot, wait ready, snapshot) when missing. */
export async function ensureTemplate(
  driver: VmmDriver,
  image: GuestImage,
  shape: TemplateShape,
  opts: EnsureTemplateOptions = {},
): Promise<VmSnapshot> {
  const accel = await driver.accel(image);
  const key = await templateKey(driver, image, shape, accel);
  const dir = join(image.dir, "templates", key);
  const existing = await loadSnapshot(dir);
  if (existing) return existing;

  await mkdir(join(image.dir, "templates"), { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + (opts.lockTimeoutMs ?? 300_000);
  for (;;) {
    const held = await tryLock(lock);
    if (held) break;
    const done = await loadSnapshot(dir);
    if (done) return done;
    if (Date.now() > deadline) throw new VmmError(VmmErrorCode.SnapshotFailed, `timed out waiting for another process to build template ${dir}`);
    await new Promise((r) => setTimeout(r, 250)); // another process is booting the template
  }
  try {
    const again = await loadSnapshot(dir);
    if (again) return again;
    await rm(dir, { recursive: true, force: true }); // a build that died halfway
    opts.log?.(`booting template VM for ${key} (${accel})`);
    const vm = await driver.start({ image, ...shape, snapshotable: true, accel });
    try {
      await vm.ready(opts.readyTimeoutMs ?? 180_000);
      if (!vm.snapshot) throw new VmmError(VmmErrorCode.Unsupported, `driver ${driver.name} cannot snapshot`);
      const snap = await vm.snapshot(dir);
      await pruneStaleTemplates(join(image.dir, "templates"), snap);
      return snap;
    } finally {
      await vm.kill();
    }
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Removes templates of this image written by the same driver at another version (an older QEMU or
 * argument revision): they can never be restored again. A clone still running from one keeps its
 * private mapping of the deleted RAM file.
 */
export async function pruneStaleTemplates(templatesDir: string, current: VmSnapshot): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(templatesDir).catch(() => [] as string[])) {
    const dir = join(templatesDir, name);
    if (dir === current.dir || name.endsWith(".lock")) continue;
    const snap = await loadSnapshot(dir).catch(() => null);
    if (snap && snap.driver === current.driver && snap.driverVersion !== current.driverVersion) {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}

/** A complete snapshot in `dir` (its snapshot.json is written last), or null. */
export async function loadSnapshot(dir: string): Promise<VmSnapshot | null> {
  const text = await readFile(join(dir, "snapshot.json"), "utf8").catch(() => null);
  if (!text) return null;
  const snap = JSON.parse(text) as VmSnapshot;
  if (!existsSync(snap.memoryFile) || !existsSync(snap.stateFile)) return null;
  return snap;
}

/** Creates the lock file with our pid; a lock whose owner is dead is taken over. */
async function tryLock(path: string): Promise<boolean> {
  try {
    const fh = await open(path, "wx");
    await fh.writeFile(String(process.pid));
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const owner = Number(await readFile(path, "utf8").catch(() => "0"));
  const age = Date.now() - (await stat(path).then((s) => s.mtimeMs).catch(() => Date.now()));
  if ((owner > 0 && !pidAlive(owner)) || (!owner && age > 5000)) {
    await rm(path, { force: true });
    return tryLock(path);
  }
  return false;
}

