/**
 * `vibewriter image build` on an image that setup already built: it reuses it (content hash),
 * makes sure the template snapshot exists, and reports both. (Building from scratch is the image
 * builder's own test; here it would take minutes.)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { currentImage } from "../../src/sandbox/image/build.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";
import { requireGuestImage } from "./guest-image.ts";

describe("vibewriter image build", () => {
  it("reuses the built image and ensures its template snapshot", async () => {
    await requireGuestImage();
    const io = captureIo({ ...process.env });
    const code = await main(["image", "build", "--json"], io);
    expect(code, io.err()).toBe(0);
    const out = JSON.parse(io.out()) as { ok: boolean; hash: string; built: boolean; template: string; accel: string };
    expect(out.ok).toBe(true);
    expect(out.accel).toMatch(/^(kvm|tcg)$/);
    const current = await currentImage();
    expect(out.hash).toBe(current.hash);
    for (const f of [current.kernel, current.initrd, current.rootfs]) expect(existsSync(f)).toBe(true);
    expect(existsSync(out.template)).toBe(true);
    expect(out.template.startsWith(join(current.dir, "templates"))).toBe(true);
  }, 900_000);
});
