export { buildImage, currentImage, imagesDir, pruneImages, IMAGE_CMDLINE, type BuildImageOptions } from "./build.ts";
export { ImageError, ImageErrorCode } from "./errors.ts";
export { GuestCmdline, DEFAULT_MAX_PROCS } from "./guest-scripts.ts";
