/**
 * The host ⇄ guest-agent protocol, shared by the host (src/sandbox/) and the agent inside the
 * microVM (src/guest/). Nothing here imports a dependency or either side's code (only the error model, src/errors.ts): the guest is
 * plain Node, bundled by src/sandbox/image/guest-agent-bundle.ts.
 *
 * - ops.ts: one schema per op (arguments, result, streams, limits) → types and validation
 * - frames.ts: the frame headers and a request's life; framing.ts: bytes ⇄ frames
 * - result-frames.ts: results of any size
 * - view-roots.ts, view-path.ts: the filesystem view and the lexical confinement both sides run
 * - sandbox-user.ts: the user commands run as (the image makes it, the agent drops to it)
 * - schema.ts: the checker combinators everything above is written with
 * - errors.ts: `ProtocolError`, a bad frame or a value that does not fit its schema
 */
export { ErrorCode, ProtocolErrorCode } from "./error-codes.ts";
export { ProtocolError } from "./errors.ts";
export { eventHeader, type EventHeader, requestHeader, type RequestHeader } from "./frames.ts";
export { encodeFrame, encodeFrameJson, FrameDecoder } from "./framing.ts";
export { AGENT_VERSION, MAX_ARGS_BYTES, MAX_ERROR_MESSAGE, MAX_FILES_PER_FRAME, MAX_FRAME_BODY, MAX_INLINE_RESULT, PROTOCOL_VERSION } from "./limits.ts";
export { type Args, type DownloadResult, type EditResult, type ExecArgs, type ExecResult, type FileInfo, type GlobResult, type GrepMatch, type GrepResult, type HelloArgs, type HelloResult, isOp, type LsResult, type ManifestResult, type Op, OP_SCHEMAS, type OpMap, type ReadResult, type Result, type UploadResult, type WriteResult } from "./ops.ts";
export { parseResultJson, resultFrames } from "./result-frames.ts";
export { SANDBOX_GID, SANDBOX_UID } from "./sandbox-user.ts";
export { resolveViewPath } from "./view-path.ts";
export { VIEW_ROOTS, type ViewRoot } from "./view-roots.ts";
