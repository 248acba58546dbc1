/**
 * The guest-image builder's parts on real files (cpio writer, vmlinux extraction, module
 * dependencies, pruning) and the image setup built (kernel, initramfs, root disk contents).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pruneImages } from "../../src/sandbox/image/build.ts";
import { writeCpio } from "../../src/sandbox/image/cpio.ts";
import { ImageError } from "../../src/sandbox/image/errors.ts";
import { moduleDepends } from "../../src/sandbox/image/kernel.ts";
import { extractVmlinux } from "../../src/sandbox/image/vmlinux.ts";
import { getTestImage } from "../support/vm.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vw-image-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("image parts", () => {
  it("writes a newc cpio archive that cpio reads back", () => {
    const archive = join(dir, "a.cpio");
    writeFileSync(
      archive,
      writeCpio([
        { path: "bin", type: "dir" },
        { path: "bin/hello", type: "file", data: Buffer.from("héllo\n"), mode: 0o755 },
        { path: "bin/link", type: "symlink", target: "hello" },
        { path: "dev/console", type: "chardev", major: 5, minor: 1 },
      ]),
    );
    const listing = execFileSync("cpio", ["-itv", "-F", archive], { stdio: ["ignore", "pipe", "ignore"] }).toString();
    expect(listing).toMatch(/drwxr-xr-x .* bin\n/);
    expect(listing).toMatch(/-rwxr-xr-x .* bin\/hello\n/);
    expect(listing).toMatch(/bin\/link -> hello/);
    expect(listing).toMatch(/crw------- .* 5,\s+1 .* dev\/console/);
    const body = execFileSync("cpio", ["-i", "--to-stdout", "-F", archive, "bin/hello"], { stdio: ["ignore", "pipe", "ignore"] });
    expect(body.toString()).toBe("héllo\n");
    expect(() => writeCpio([{ path: "/", type: "dir" }])).toThrow(/bad cpio path/);
  });

  it("extracts the ELF kernel from a compressed image (xz and gzip), wherever it sits", async () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), randomBytes(5000)]);
    for (const tool of ["xz", "gzip"]) {
      const packed = execFileSync(tool, ["-c"], { input: elf });
      // A setup-code prefix without any magic, then the stream, then trailing data.
      const image = Buffer.concat([Buffer.alloc(700, 0x90), packed, Buffer.from("trailer")]);
      writeFileSync(join(dir, `bz-${tool}`), image);
      await extractVmlinux(join(dir, `bz-${tool}`), join(dir, `vmlinux-${tool}`));
      expect(readFileSync(join(dir, `vmlinux-${tool}`)).equals(elf)).toBe(true);
    }
  });

  it("fails clearly on a file that holds no compressed kernel", async () => {
    writeFileSync(join(dir, "junk"), Buffer.alloc(4096, 0x41));
    const err = await extractVmlinux(join(dir, "junk"), join(dir, "out")).catch((e: unknown) => e);
    expect(ImageError.isInstance(err)).toBe(true);
    expect((err as ImageError).code).toBe("bad_kernel");
  });

  it("reads a module's dependencies from its modinfo strings", async () => {
    const ko = join(dir, "m.ko");
    writeFileSync(ko, Buffer.concat([randomBytes(64).map((b) => b | 1), Buffer.from("\0license=GPL\0depends=jbd2,crc16,crc32c-generic\0vermagic=6.1\0")]));
    expect(await moduleDepends(ko)).toEqual(["jbd2", "crc16", "crc32c_generic"]);
    writeFileSync(ko, Buffer.from("\0depends=\0"));
    expect(await moduleDepends(ko)).toEqual([]);
  });

  it("keeps the newest images and removes older ones and dead builds", async () => {
    const root = join(dir, "images");
    for (const [name, age] of [["old", 3000], ["mid", 2000], ["new", 1000]] as const) {
      mkdirSync(join(root, name), { recursive: true });
      writeFileSync(join(root, name, "image.json"), "{}");
      const t = new Date(Date.now() - age * 1000);
      utimesSync(join(root, name, "image.json"), t, t);
    }
    mkdirSync(join(root, "x.tmp-999999999"), { recursive: true }); // no such pid
    mkdirSync(join(root, "cache"), { recursive: true });
    const removed = await pruneImages(root, 2);
    expect(removed.sort()).toEqual([join(root, "old"), join(root, "x.tmp-999999999")].sort());
    expect(existsSync(join(root, "new")) && existsSync(join(root, "mid")) && existsSync(join(root, "cache"))).toBe(true);
  });
});

describe("the built guest image", () => {
  it("has an uncompressed ELF kernel with a PVH entry note", async () => {
    const image = await getTestImage();
    const head = readFileSync(image.kernel).subarray(0, 4);
    expect(head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))).toBe(true);
    const notes = execFileSync("readelf", ["-n", image.kernel]).toString();
    expect(notes).toMatch(/Xen\s+0x[0-9a-f]+\s+Unknown note type: \(0x00000012\)/); // XEN_ELFNOTE_PHYS32_ENTRY
  });

  it("has an initramfs with busybox, /init and the modules it loads", async () => {
    const image = await getTestImage();
    const listing = execFileSync("cpio", ["-it", "-F", image.initrd], { stdio: ["ignore", "pipe", "ignore"] }).toString().split("\n");
    for (const f of ["init", "bin/busybox", "lib/modules/virtio_mmio.ko", "lib/modules/virtio_console.ko", "lib/modules/ext4.ko", "lib/modules/crc32c_generic.ko"]) {
      expect(listing).toContain(f);
    }
    const init = execFileSync("cpio", ["-i", "--to-stdout", "-F", image.initrd, "init"], { stdio: ["ignore", "pipe", "ignore"] }).toString();
    // Dependencies load before their users.
    expect(init.indexOf("virtio_ring.ko")).toBeLessThan(init.indexOf("virtio_mmio.ko"));
    expect(init.indexOf("jbd2.ko")).toBeLessThan(init.indexOf("ext4.ko"));
    expect(init).toContain("switch_root");
  });

  it("has a root disk with Node, Python, the agent and the sandbox user", async () => {
    const image = await getTestImage();
    const cat = (p: string) => execFileSync("debugfs", ["-R", `cat ${p}`, image.rootfs], { stdio: ["ignore", "pipe", "ignore"] }).toString();
    const ls = (p: string) => execFileSync("debugfs", ["-R", `ls -l ${p}`, image.rootfs], { stdio: ["ignore", "pipe", "ignore"] }).toString();
    expect(cat("/etc/passwd")).toMatch(/^sandbox:x:1000:1000:/m);
    expect(ls("/usr/local/bin")).toMatch(/\bnode\b/);
    expect(ls("/usr/bin")).toMatch(/\bpython3\b/);
    expect(ls("/opt/vibewriter")).toMatch(/agent\.mjs/);
    expect(ls("/")).toMatch(/workspace[\s\S]*|skills/);
    expect(cat("/etc/inittab")).toContain("/opt/vibewriter/agent-run");
  });
});
