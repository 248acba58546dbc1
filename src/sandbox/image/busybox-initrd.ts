/**
 * A throw-away initramfs of the host's busybox and a shell `/init`: what the KVM probe and the
 * bare-boot bench boot to see a kernel reach userspace.
 */
import { readFile } from "node:fs/promises";
import { writeCpio } from "./cpio.ts";

/** `init`: the script's lines after `#!/bin/busybox sh`; `console`: add /dev/console (5,1). */
export async function busyboxInitrd(init: string, opts: { console?: boolean } = {}): Promise<Buffer> {
  return writeCpio([
    { path: "bin", type: "dir" },
    ...(opts.console
      ? ([
          { path: "dev", type: "dir" },
          { path: "dev/console", type: "chardev", major: 5, minor: 1 },
        ] as const)
      : []),
    { path: "bin/busybox", type: "file", data: await readFile("/bin/busybox"), mode: 0o755 },
    { path: "init", type: "file", data: Buffer.from(`#!/bin/busybox sh\n${init}`), mode: 0o755 },
  ]);
}
