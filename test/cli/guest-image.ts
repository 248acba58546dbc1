/** The end-to-end CLI tests boot real microVMs: they need the guest image, and say how to get it. */
import { currentImage, imagesDir } from "../../src/sandbox/image/build.ts";

export async function requireGuestImage(): Promise<void> {
  try {
    await currentImage();
  } catch (e) {
    throw new Error(
      `these tests boot real microVMs and need the guest image in ${imagesDir()}: run \`npx vibewriter image build\` ` +
        `(or \`bash scripts/setup.sh\`), or point VIBEWRITER_IMAGES_DIR at a built one. (${(e as Error).message})`,
    );
  }
}
