/** Protocol version and frame limits, shared by host and guest. */

/** Bumped on any incompatible change; the host refuses a guest with another version. */
export const PROTOCOL_VERSION = 3 as const;
export const AGENT_VERSION = "0.3.0" as const;

/** Largest body in one frame; bigger payloads are split over several frames. */
export const MAX_FRAME_BODY = 1024 * 1024;
/** Largest JSON header in one frame. */
export const MAX_FRAME_HEADER = 256 * 1024;
/** Whole files one download data frame carries at most (their sizes are in its header). */
export const MAX_FILES_PER_FRAME = 4096;
/**
 * Largest result JSON sent inside its `result` header; a bigger one travels as `data` frames
 * tagged `result: true` (see frames.ts), so no result is ever too large for a frame.
 */
export const MAX_INLINE_RESULT = MAX_FRAME_HEADER - 1024;
/**
 * Largest request arguments. Arguments bigger than MAX_INLINE_RESULT (an edit of a big block)
 * travel as the first `argsBytes` bytes of the request body instead of in its header.
 */
export const MAX_ARGS_BYTES = 64 * 1024 * 1024;
/** Longest error message the guest sends (longer ones are cut: a message quoting model input can be huge). */
export const MAX_ERROR_MESSAGE = 16 * 1024;
