/**
 * A minimal writer for the kernel's initramfs format ("newc" cpio). Entries get fixed owners and
 * mtime 0, so the same inputs always give the same bytes.
 */
export type CpioEntry =
  | { path: string; type: "dir"; mode?: number }
  | { path: string; type: "file"; data: Uint8Array; mode?: number }
  | { path: string; type: "symlink"; target: string }
  | { path: string; type: "chardev"; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Uint8Array, rdevMajor = 0, rdevMinor = 0) => {
    const nameBytes = Buffer.from(`${name}\0`, "utf8");
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0];
    const header = "070701" + fields.map((f) => f.toString(16).padStart(8, "0")).join("");
    parts.push(Buffer.from(header, "ascii"), nameBytes, pad(110 + nameBytes.length));
    parts.push(Buffer.from(data), pad(data.length));
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "");
    if (!path || path.includes("\0")) throw new Error(`bad cpio path: ${JSON.stringify(e.path)}`);
    if (e.type === "dir") push(path, S_IFDIR | (e.mode ?? 0o755), new Uint8Array());
    else if (e.type === "file") push(path, S_IFREG | (e.mode ?? 0o644), e.data);
    else if (e.type === "symlink") push(path, S_IFLNK | 0o777, Buffer.from(e.target, "utf8"));
    else push(path, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(), e.major, e.minor);
  }
  push("TRAILER!!!", 0, new Uint8Array());
  return Buffer.concat(parts);
}

function pad(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}
