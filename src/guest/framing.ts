/** Transitional: removed when warm-up.ts imports `src/protocol/` (where the framing lives). */
export { encodeFrame, FrameDecoder, FrameError, type Frame } from "../protocol/index.ts";
