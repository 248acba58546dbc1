/**
 * The embedded store's disk: how much JetStream may use, a small reserve that keeps the store
 * usable on a full disk, and the "disk full" error users see.
 *
 * nats-server (2.9) caps JetStream at 75 % of the disk space free *when it starts*, and refuses to
 * restore a stream that does not fit that cap: on a full disk every stream "disappears". It also
 * disables JetStream for good when a write meets ENOSPC. So the embedded server is started with an
 * explicit `max_file_store` = what the store already holds + 75 % of the free space: the streams
 * always restore (reads work on a full disk), and JetStream refuses new writes ("insufficient
 * resources", turned into a DiskFull error here) before the filesystem itself is full.
 *
 * `<store>/space.reserve` (4 MiB of real blocks) is given back when the disk is full, so that the
 * server's log, the lock and lease files and the server's own last writes still find room; it is
 * made again once there is space.
 */
import { statfsSync } from "node:fs";
import { open, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { NatsBackboneError, NatsErrorCode } from "./errors.ts";

export const RESERVE_FILE = "space.reserve";
export const RESERVE_BYTES = 4 * 1024 * 1024;
/** JetStream's own share of the free space (nats-server's default rule). */
const JETSTREAM_SHARE = 0.75;
/** Below this much free space the disk counts as full (the reserve is given back). */
export const LOW_WATER_BYTES = RESERVE_BYTES / 2;
/** JetStream API error codes that mean "no room": a write (10023) or a stream's reservation (10047). */
export const INSUFFICIENT_RESOURCES = 10023;
export const INSUFFICIENT_STORAGE = 10047;

export interface DiskSpace {
  /** Bytes an unprivileged writer may still use. */
  free: number;
  /** Size of the filesystem. */
  size: number;
}

export function diskSpace(dir: string): DiskSpace {
  const s = statfsSync(dir);
  return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
}

/** Bytes held by the JetStream store under `dir` (file sizes, as JetStream accounts them). */
export async function storeUsage(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await stat(p).catch(() => undefined))?.size ?? 0;
    }
  };
  await walk(join(dir, "jetstream"));
  return total;
}

/**
 * `max_file_store` for a server starting now: what is stored + 75 % of the free space, not counting
 * the reserve (whether or not it exists yet), at least 1 MiB so the server starts.
 */
export async function maxFileStore(dir: string): Promise<number> {
  const held = await reserveHeld(dir);
  const { free } = diskSpace(dir);
  const usable = Math.max(0, held ? free : free - RESERVE_BYTES);
  return Math.max(1024 * 1024, Math.floor((await storeUsage(dir)) + usable * JETSTREAM_SHARE));
}

async function reserveHeld(dir: string): Promise<boolean> {
  return ((await stat(join(dir, RESERVE_FILE)).catch(() => undefined))?.size ?? 0) >= RESERVE_BYTES;
}

/** Make the reserve when there is room for it and more; never fails (a full disk just has none). */
export async function keepReserve(dir: string): Promise<void> {
  if (await reserveHeld(dir)) return;
  if (diskSpace(dir).free < 2 * RESERVE_BYTES) return;
  const path = join(dir, RESERVE_FILE);
  try {
    const fh = await open(path, "w", 0o600);
    try {
      // Real zeros, not a sparse file: the blocks must be allocated to be given back later.
      const chunk = Buffer.alloc(1024 * 1024);
      for (let n = 0; n < RESERVE_BYTES; n += chunk.length) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    await rm(path, { force: true });
  }
}

/** The disk under the store is full: almost nothing free, or the reserve given back and no room to make it again. */
export async function isDiskFull(dir: string): Promise<boolean> {
  const { free } = diskSpace(dir);
  return free < LOW_WATER_BYTES || (!(await reserveHeld(dir)) && free < 2 * RESERVE_BYTES);
}

/** Give the reserve back (the disk is full); true when there was one. */
export async function releaseReserve(dir: string): Promise<boolean> {
  const held = await reserveHeld(dir);
  await rm(join(dir, RESERVE_FILE), { force: true });
  return held;
}

/** The store of the embedded server this process uses, for the disk-full message. */
let embeddedStore: string | undefined;

export function noteEmbeddedStore(dir: string): void {
  embeddedStore = dir;
}

/** JetStream refused for lack of room, anywhere in `err`'s cause chain. */
export function isNoRoom(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (NatsBackboneError.isInstance(e, NatsErrorCode.DiskFull)) return true;
    const code = (e as { errCode?: unknown; code?: unknown }).errCode ?? (e as { code?: unknown }).code;
    if (code === INSUFFICIENT_RESOURCES || code === INSUFFICIENT_STORAGE) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && /insufficient (storage )?resources|no space left on device|ENOSPC/i.test(message)) return true;
  }
  return false;
}

/**
 * "Disk full", with the store's path and free space when this process runs the embedded server
 * (with NATS_URL the store is the operator's), and what to do.
 */
export function diskFullError(cause?: unknown, store: string | undefined = embeddedStore): NatsBackboneError {
  if (NatsBackboneError.isInstance(cause, NatsErrorCode.DiskFull)) return cause;
  let where = "the NATS server's store";
  if (store) {
    try {
      const { free, size } = diskSpace(store);
      where = `the NATS store ${store} (${mib(free)} free of ${mib(size)})`;
    } catch {
      where = `the NATS store ${store}`;
    }
  }
  const err = new NatsBackboneError(
    NatsErrorCode.DiskFull,
    `disk full: no room left for new writes in ${where}; nothing already acknowledged is lost, and reading still works`,
    { cause },
  );
  (err as { fix?: string }).fix =
    "Free space on that disk (or run `vibewriter prune` to drop expired threads), then continue with `vibewriter resume <thread>`.";
  return err;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
