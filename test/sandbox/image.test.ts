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
import { debianMirror, hostSuite, parseDeb822Sources, parseOneLineSources } from "../../src/sandbox/image/host-release.ts";
import { builtinModules, decompressModule, GUEST_MODULES, moduleDepends } from "../../src/sandbox/image/kernel.ts";
import { builtinPathsOf, embeddedBuiltins, nodeRuntime } from "../../src/sandbox/image/node-runtime.ts";
import { nodeSetIdShim, SETID_SHIM_SYMBOL } from "../../src/sandbox/image/node-setid-shim.ts";
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

  it("extracts the ELF kernel from a compressed image (xz, zstd as on Debian 13, gzip), wherever it sits", async () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), randomBytes(5000)]);
    for (const tool of ["xz", "zstd", "gzip"]) {
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

  it("names the missing tool when the kernel's compressor is not installed", async () => {
    const packed = execFileSync("zstd", ["-c"], { input: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), randomBytes(100)]) });
    writeFileSync(join(dir, "bz-zstd-only"), Buffer.concat([Buffer.alloc(64), packed]));
    const saved = process.env.PATH;
    process.env.PATH = join(dir, "no-tools"); // childEnv passes PATH: no zstd on it
    try {
      const err = await extractVmlinux(join(dir, "bz-zstd-only"), join(dir, "out")).catch((e: unknown) => e);
      expect((err as ImageError).code).toBe("tool_missing");
      expect((err as ImageError).message).toMatch(/apt-get install zstd/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it("unpacks kernel modules whatever they are compressed with (.ko, .ko.xz, .ko.zst, .ko.gz)", async () => {
    const ko = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), randomBytes(3000), Buffer.from("\0depends=virtio_ring\0")]);
    writeFileSync(join(dir, "v.ko"), ko);
    for (const [tool, ext] of [["xz", "xz"], ["zstd", "zst"], ["gzip", "gz"]] as const) {
      writeFileSync(join(dir, `v.ko.${ext}`), execFileSync(tool, ["-c"], { input: ko }));
    }
    for (const f of ["v.ko", "v.ko.xz", "v.ko.zst", "v.ko.gz"]) expect((await decompressModule(join(dir, f))).equals(ko)).toBe(true);
    writeFileSync(join(dir, "bad.ko.xz"), "not xz");
    expect(((await decompressModule(join(dir, "bad.ko.xz")).catch((e: unknown) => e)) as ImageError).message).toMatch(/bad\.ko\.xz/);
  });

  it("reads built-in modules from modules.builtin (virtio_console is built in on 6.12)", async () => {
    const modDir = join(dir, "modules-6.12");
    mkdirSync(modDir, { recursive: true });
    writeFileSync(join(modDir, "modules.builtin"), "kernel/drivers/char/virtio_console.ko\nkernel/crypto/crc32c_generic.ko\nkernel/lib/zstd/zstd_decompress.ko\n");
    const builtin = await builtinModules(modDir);
    expect([...builtin].sort()).toEqual(["crc32c_generic", "virtio_console", "zstd_decompress"]);
    expect(await builtinModules(join(dir, "no-such-dir"))).toEqual(new Set());
  });

  it("finds the host's suite and its mirror in one-line and deb822 apt sources", async () => {
    const etc = join(dir, "etc");
    mkdirSync(join(etc, "apt", "sources.list.d"), { recursive: true });
    writeFileSync(join(etc, "os-release"), 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_CODENAME=trixie\nID=debian\n');
    expect(await hostSuite({}, join(etc, "os-release"))).toBe("trixie");
    expect(await hostSuite({ VIBEWRITER_DEBIAN_SUITE: "bookworm" }, join(etc, "os-release"))).toBe("bookworm");
    writeFileSync(join(etc, "no-codename"), "ID=alpine\n");
    expect(((await hostSuite({}, join(etc, "no-codename")).catch((e: unknown) => e)) as Error).message).toMatch(/VIBEWRITER_DEBIAN_SUITE/);

    // trixie's installer writes deb822; security first, a disabled stanza, a third-party repository.
    const deb822 = [
      "Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: trixie-security\nComponents: main\n",
      "Types: deb\nURIs: http://old.example/debian\nSuites: trixie\nComponents: main\nEnabled: no\n",
      "# the archive\nTypes: deb deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie trixie-updates\nComponents: main\n non-free-firmware\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
    ].join("\n");
    expect(parseDeb822Sources(deb822)[2]).toEqual({
      types: ["deb", "deb-src"],
      uris: ["http://deb.debian.org/debian"],
      suites: ["trixie", "trixie-updates"],
      components: ["main", "non-free-firmware"],
      enabled: true,
    });
    writeFileSync(join(etc, "apt", "sources.list.d", "debian.sources"), deb822);
    writeFileSync(join(etc, "apt", "sources.list.d", "nodesource.sources"), "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n");
    expect(await debianMirror("trixie", {}, join(etc, "apt"))).toBe("http://deb.debian.org/debian");

    // bookworm's one-line style, with options and comments.
    const oneLine = "# deb http://commented.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\ndeb http://security.debian.org bookworm-security main\n";
    expect(parseOneLineSources(oneLine)).toHaveLength(2);
    writeFileSync(join(etc, "apt", "sources.list"), oneLine);
    expect(await debianMirror("bookworm", {}, join(etc, "apt"))).toBe("http://mirror.example/debian");
    expect(await debianMirror("bookworm", { VIBEWRITER_DEBIAN_MIRROR: "http://m.example/d" }, join(etc, "apt"))).toBe("http://m.example/d");
    const none = await debianMirror("forky", {}, join(etc, "apt")).catch((e: unknown) => e);
    expect((none as Error).message).toMatch(/no apt source for "forky main".*VIBEWRITER_DEBIAN_MIRROR/);
  });

  it("finds what the host's Node loads besides its binary (libraries, a distribution's shared builtins)", async () => {
    // Debian's Node is configured with --shared-builtin-*-path; process.config names the files.
    expect(
      builtinPathsOf({
        "node_shared_builtin_undici/undici_path": "/usr/share/nodejs/undici/undici-fetch.js",
        "node_shared_builtin_cjs_module_lexer/lexer_path": "/usr/share/nodejs/cjs-module-lexer/lexer.js",
        node_shared_libuv: "true",
        node_shared_builtin_relative_path: "relative/ignored.js",
      }),
    ).toEqual(["/usr/share/nodejs/cjs-module-lexer/lexer.js", "/usr/share/nodejs/undici/undici-fetch.js"]);
    // Debian 13's libnode names its builtin files as plain strings.
    const lib = Buffer.from("\0ELF…\0/usr/share/nodejs/acorn/dist/acorn.js\0x\0/usr/share/nodejs/undici/undici-fetch.js\0/usr/share/nodejs/\0");
    expect(embeddedBuiltins(lib)).toEqual(["/usr/share/nodejs/acorn/dist/acorn.js", "/usr/share/nodejs/undici/undici-fetch.js"]);
    const runtime = await nodeRuntime(process.execPath);
    expect(runtime.libraries.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    for (const f of runtime.builtins) expect(existsSync(f)).toBe(true);
    expect(typeof runtime.refusesSetIds).toBe("boolean");
  });

  it("writes a shared object the dynamic linker loads, exporting Node's io_uring question answered 0", () => {
    const so = join(dir, "shim.so");
    writeFileSync(so, nodeSetIdShim());
    // -D: symbols through the dynamic section, as ld.so finds them (there are no section headers).
    const dyn = execFileSync("readelf", ["-DslW", so], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    expect(dyn).toMatch(new RegExp(`FUNC\\s+GLOBAL\\s+DEFAULT\\s+\\S+\\s+${SETID_SHIM_SYMBOL}`));
    expect(dyn).toMatch(/GNU_STACK.* RW /); // no executable stack: glibc 2.41 would refuse to load it
    // Loaded by glibc's ld.so into a real process and called there (python3 is in every guest base).
    const out = execFileSync("python3", ["-c", `import ctypes; print(ctypes.CDLL(None).${SETID_SHIM_SYMBOL}())`], {
      env: { PATH: process.env.PATH, LD_PRELOAD: so },
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(out.toString()).toBe("0\n");
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

  it("has an initramfs with busybox, /init and every guest module the kernel does not build in", async () => {
    const image = await getTestImage();
    const info = JSON.parse(readFileSync(join(image.dir, "image.json"), "utf8")) as { builtinModules?: string[] };
    const listing = execFileSync("cpio", ["-it", "-F", image.initrd], { stdio: ["ignore", "pipe", "ignore"] }).toString().split("\n");
    for (const f of ["init", "bin/busybox"]) expect(listing).toContain(f);
    // Module names as the kernel spells them (a file may say virtio-rng.ko).
    const loaded = listing.filter((f) => f.startsWith("lib/modules/") && f.endsWith(".ko")).map((f) => f.slice(12, -3).replace(/-/g, "_"));
    for (const m of GUEST_MODULES) {
      // Loading a built-in module fails, so it must not be there (virtio_console on Debian 13).
      if (info.builtinModules?.includes(m)) expect(loaded).not.toContain(m);
      else expect(loaded).toContain(m);
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
    // Everything the host's Node loads is at the same path in the guest (Debian's /usr/share/nodejs too).
    const runtime = await nodeRuntime("/usr/bin/node");
    for (const f of [...runtime.libraries, ...runtime.builtins]) {
      expect(execFileSync("debugfs", ["-R", `stat ${f}`, image.rootfs], { stdio: ["ignore", "pipe", "pipe"] }).toString(), f).toMatch(/Inode:/);
    }
    expect(ls("/usr/bin")).toMatch(/\bpython3\b/);
    expect(ls("/opt/vibewriter")).toMatch(/agent\.mjs/);
    expect(ls("/")).toMatch(/workspace[\s\S]*|skills/);
    expect(cat("/etc/inittab")).toContain("/opt/vibewriter/agent-run");
  });
});
