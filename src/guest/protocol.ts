/**
 * The host ⇄ guest-agent protocol: one typed schema shared by the host (`src/sandbox/`) and the
 * agent that runs inside the microVM (`src/guest/`). Nothing here may import a dependency: the
 * guest is plain Node.
 *
 * Transport: a byte stream (virtio-serial port in the guest, a unix socket on the host) carrying
 * frames (see `framing.ts`): a JSON header plus an optional raw binary body. File contents and
 * command output always travel in bodies, never as base64 inside JSON.
 *
 * Every request carries a numeric `id` chosen by the host; every frame the guest sends about that
 * request carries the same `id`, so many requests run concurrently over one channel. Id 0 belongs
 * to the VMM driver's readiness handshake (`hello` as id 0, see `src/sandbox/vmm/driver.ts`);
 * clients use ids ≥ 1 and ignore id-0 frames. Hosts start their ids at a random base per
 * connection so that frames left over from an earlier connection (the guest blocks writing them
 * until someone connects) never match a live request.
 *
 * Nothing the guest sends is trusted by the host: every event and result is shape-checked
 * (`src/sandbox/guest-validate.ts`). Paths are view paths (`VIEW_ROOTS`); the agent confines them
 * again with real paths.
 *
 * A request's life:
 *   host → guest  { id, op, args, more? }          (+ body: `write` contents, `upload` parts, stdin)
 *   host → guest  { id, op: "chunk", more }        (further body parts while `more` was true)
 *   guest → host  { id, ev: "start", pid }         (exec only)
 *   guest → host  { id, ev: "data", stream?, part? } + body   (zero or more; bulk bytes)
 *   guest → host  { id, ev: "result", value }      (exactly one of result/error ends it; its body,
 *                                                   if any, is the last untagged `data` part)
 *   guest → host  { id, ev: "error", code, message }
 * Any body bigger than MAX_FRAME_BODY is split over several frames.
 */

/** Bumped on any incompatible change; the host refuses a guest with another version. */
export const PROTOCOL_VERSION = 1 as const;
export const AGENT_VERSION = "0.1.0" as const;

/** Largest body in one frame; bigger payloads are chunked. */
export const MAX_FRAME_BODY = 1024 * 1024;
/** Largest JSON header in one frame. */
export const MAX_FRAME_HEADER = 256 * 1024;

/** Error codes the guest may return. Mirrors deepagents' FileOperationError where they overlap. */
export const ErrorCode = {
  FileNotFound: "file_not_found",
  PermissionDenied: "permission_denied",
  IsDirectory: "is_directory",
  NotDirectory: "not_directory",
  InvalidPath: "invalid_path",
  Exists: "exists",
  NotUnique: "not_unique",
  NoMatch: "no_match",
  TooLarge: "too_large",
  NoSpace: "no_space",
  BadRequest: "bad_request",
  Cancelled: "cancelled",
  Internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/**
 * The filesystem view the sandbox exposes. `/large_tool_results` and `/conversation_history` are
 * where deepagents offloads big tool results and history; they live inside `/workspace` so they are
 * persisted with it.
 */
export const VIEW_ROOTS = [
  { path: "/workspace", real: "/workspace", writable: true },
  { path: "/skills", real: "/skills", writable: false },
  { path: "/tmp", real: "/tmp", writable: true },
  { path: "/large_tool_results", real: "/workspace/.large_tool_results", writable: true },
  { path: "/conversation_history", real: "/workspace/.conversation_history", writable: true },
] as const;
export interface ViewRoot {
  /** Path as the model sees it. */
  path: string;
  /** Where it lives on the guest's filesystem. */
  real: string;
  writable: boolean;
}

// ---------------------------------------------------------------------------------------------
// Requests (host → guest). `args` shapes, keyed by op.
// ---------------------------------------------------------------------------------------------

export interface HelloArgs {
  /** Host wall clock (ms since epoch): a guest restored from a snapshot sets its clock from it. */
  nowMs: number;
  protocolVersion: number;
}
export interface HelloResult {
  protocolVersion: number;
  agentVersion: string;
  /** Roots of the filesystem view and whether each is writable. */
  roots: { path: string; writable: boolean }[];
  pid: number;
  /** True when the guest clock was more than a second off and is being set from `nowMs` (commands wait for it). */
  clockSet: boolean;
}

export interface ExecArgs {
  /** Either argv (no shell; passed as data) or a shell string run by `/bin/sh -c`. */
  argv?: string[];
  shell?: string;
  /** A view path; default `/workspace`. */
  cwd?: string;
  /** Added to the default environment (PATH, HOME, LANG). */
  env?: Record<string, string>;
  /** stdin bytes follow as the request body (and chunks); absent = empty stdin. */
  stdin?: boolean;
  /** Kill the whole process group after this many ms. */
  timeoutMs?: number;
  /** Cap on stdout+stderr bytes delivered; the rest is drained and dropped, `truncated` set. */
  maxOutputBytes?: number;
}
/** Streamed while running: `{ ev: "start", pid }`, then `{ ev: "data", stream }` + body. */
export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  truncated: boolean;
}

export interface ReadArgs {
  path: string;
  /** Byte window for raw reads. */
  offset?: number;
  length?: number;
  /** Line window (0-based first line, count): only those lines' bytes are sent. */
  lines?: { offset: number; limit: number };
}
/** The bytes follow as `data` frames. */
export interface ReadResult {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Line mode only: number of lines in the file (a final line without "\n" counts). */
  totalLines?: number;
  /** Line mode only: the file holds nothing but ASCII whitespace (deepagents' "empty" file). */
  blank?: boolean;
}

export interface WriteArgs {
  path: string;
  /** Fail with `exists` if the file is already there. */
  exclusive?: boolean;
  /** Total byte length of the body across chunks. */
  size: number;
  /** Create parent directories. Default true. */
  parents?: boolean;
}
export interface WriteResult {
  size: number;
  mtimeMs: number;
}

export interface EditArgs {
  path: string;
  oldString: string;
  newString: string;
  replaceAll?: boolean;
  /** Send the edited file's bytes back as data (the host persists them without a download). */
  returnContent?: boolean;
}
export interface EditResult {
  occurrences: number;
  size: number;
  mtimeMs: number;
}

export interface StatArgs {
  path: string;
}
export interface FileInfo {
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  mtimeMs: number;
}

export interface LsArgs {
  path: string;
}
export interface LsResult {
  entries: FileInfo[];
}

export interface GlobArgs {
  pattern: string;
  path?: string;
  limit?: number;
}
export interface GlobResult {
  paths: FileInfo[];
  truncated: boolean;
}

export interface GrepArgs {
  /** Literal text, never a regex and never passed to a shell. */
  pattern: string;
  path?: string;
  /** Matched against each file's base name. */
  glob?: string;
  maxCount?: number;
}
export interface GrepMatch {
  path: string;
  line: number;
  text: string;
}
export interface GrepResult {
  matches: GrepMatch[];
  truncated: boolean;
}

export interface DeleteArgs {
  path: string;
  recursive?: boolean;
}
export interface MkdirArgs {
  path: string;
  parents?: boolean;
}

/** Many files at once: the body is the concatenation of all contents, in order. */
export interface UploadArgs {
  files: { path: string; size: number }[];
  /**
   * Host-only installs (skills): may write under read-only roots such as /skills, and the files
   * stay owned by root so the sandbox user can read but not change them. Never set from model input.
   */
  install?: boolean;
}
export interface UploadResult {
  results: { path: string; error?: ErrorCode; size?: number; mtimeMs?: number }[];
}
export interface DownloadArgs {
  paths: string[];
}
/** Each found file's bytes follow as `data` frames tagged with `part` = its index in `paths`. */
export interface DownloadResult {
  files: { path: string; size: number; error?: ErrorCode }[];
}

/** Every regular file under `path` (default /workspace): the host diffs it to persist. */
export interface ManifestArgs {
  path?: string;
  limit?: number;
}
export interface ManifestResult {
  files: FileInfo[];
  truncated: boolean;
}

export interface CancelArgs {
  /** Id of the request to cancel (an exec is killed with its process group). */
  target: number;
}

export interface OpMap {
  hello: { args: HelloArgs; result: HelloResult };
  exec: { args: ExecArgs; result: ExecResult };
  read: { args: ReadArgs; result: ReadResult };
  write: { args: WriteArgs; result: WriteResult };
  edit: { args: EditArgs; result: EditResult };
  stat: { args: StatArgs; result: FileInfo };
  ls: { args: LsArgs; result: LsResult };
  glob: { args: GlobArgs; result: GlobResult };
  grep: { args: GrepArgs; result: GrepResult };
  delete: { args: DeleteArgs; result: Record<string, never> };
  mkdir: { args: MkdirArgs; result: Record<string, never> };
  upload: { args: UploadArgs; result: UploadResult };
  download: { args: DownloadArgs; result: DownloadResult };
  manifest: { args: ManifestArgs; result: ManifestResult };
  cancel: { args: CancelArgs; result: Record<string, never> };
}
export type Op = keyof OpMap;
export const OPS = [
  "hello",
  "exec",
  "read",
  "write",
  "edit",
  "stat",
  "ls",
  "glob",
  "grep",
  "delete",
  "mkdir",
  "upload",
  "download",
  "manifest",
  "cancel",
] as const satisfies readonly Op[];

// ---------------------------------------------------------------------------------------------
// Frame headers
// ---------------------------------------------------------------------------------------------

/** host → guest */
export type RequestHeader =
  | { id: number; op: Op; args: unknown; more?: boolean }
  /** A further part of a request body (write/upload/stdin). */
  | { id: number; op: "chunk"; more: boolean };

/** guest → host */
export type EventHeader =
  | { id: number; ev: "start"; pid: number }
  /** `stream` for exec output, `part` = file index for download; the body holds the bytes. */
  | { id: number; ev: "data"; stream?: "stdout" | "stderr"; part?: number }
  | { id: number; ev: "result"; value: unknown }
  | { id: number; ev: "error"; code: ErrorCode; message: string }
  /** Unsolicited: the agent is up (sent on connect, id 0). */
  | { id: 0; ev: "ready"; protocolVersion: number; agentVersion: string };
