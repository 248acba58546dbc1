/**
 * Every op of the guest protocol, written once: its arguments, its result, what it streams before
 * the result, and its limits. The guest checks arguments with these schemas before a handler runs
 * (handlers get typed arguments); the host checks every result with them before anything uses it.
 *
 * Arguments are checked for shape only; what a value means (a path inside the view, a non-empty
 * argv) is the handler's to check, so those errors keep their own codes (`invalid_path`...).
 */
import { ERROR_CODES } from "./error-codes.ts";
import {
  array,
  bool,
  int,
  nullable,
  num,
  object,
  oneOf,
  optional,
  record,
  string,
  viewPath,
  type Infer,
  type Schema,
} from "./schema.ts";

/** What an op sends before its result (see frames.ts for the frames themselves). */
export interface OpStreams {
  /** `{ ev: "start", pid }` once (exec). */
  start?: true;
  /** `data` frames: command output tagged by `stream`, files tagged by `part`, or plain bytes. */
  data?: "stream" | "part" | "bytes";
}

export interface OpSchema<A, R> {
  args: Schema<A>;
  result: Schema<R>;
  streams: OpStreams;
  /** The request may carry a body (file contents, stdin). */
  body?: true;
  /** Defaults and caps the guest applies (documented here; the ops read them from here). */
  limits?: Readonly<Record<string, number>>;
}

/** Keeps each op's own limits in its type (`OP_SCHEMAS.read.limits.defaultLineLimit`). */
const op = <A, R, L extends Readonly<Record<string, number>> | undefined = undefined>(s: OpSchema<A, R> & { limits?: L }): OpSchema<A, R> & { limits: L } =>
  s as OpSchema<A, R> & { limits: L };

/** Longest `exec` timeout a request may ask for (24 h). */
const MAX_EXEC_TIMEOUT_MS = 24 * 3600_000;
const errorCode = oneOf(ERROR_CODES);
const fileType = oneOf(["file", "dir", "symlink", "other"]);
const fileInfo = object({ path: viewPath(), type: fileType, size: int(), mtimeMs: num() });
const empty = object({});

/**
 * Every listing or search result (src/guest/budget.ts): cut at its item, byte or time budget with
 * `truncated: true`, `total` items found in all (a lower bound when `totalIsLowerBound`) and
 * `cutBy`: "items" | "bytes" | "time" | "entries" (directory entries looked at).
 */
const budgeted = {
  truncated: bool(),
  total: optional(int()),
  cutBy: optional(string()),
  totalIsLowerBound: optional(bool()),
};

export const OP_SCHEMAS = {
  /** Version handshake; the guest sets its clock from the host's (snapshots leave it stale). */
  hello: op({
    args: object({
      /** Host wall clock (ms since epoch). */
      nowMs: int(),
      protocolVersion: int(),
    }),
    result: object({
      protocolVersion: int(),
      agentVersion: string({ max: 100 }),
      /** Roots of the filesystem view and whether each is writable. */
      roots: array(object({ path: viewPath(), writable: bool() }), { max: 100 }),
      pid: int(),
      /** True when the guest clock was more than a second off and is being set (commands wait for it). */
      clockSet: bool(),
    }),
    streams: {},
  }),

  /** Runs argv (no shell; passed as data) or a shell string (`/bin/sh -c`), as the sandbox user. */
  exec: op({
    args: object({
      argv: optional(array(string())),
      shell: optional(string()),
      /** A view path; default `/workspace`. */
      cwd: optional(string()),
      /** Added to the default environment (PATH, HOME, LANG). */
      env: optional(record(string())),
      /** stdin bytes follow as the request body; absent = empty stdin. */
      stdin: optional(bool()),
      /** Kill the whole process group after this many ms. */
      timeoutMs: optional(int(1, MAX_EXEC_TIMEOUT_MS)),
      /** Cap on stdout+stderr bytes delivered; the rest is drained and dropped, `truncated` set. */
      maxOutputBytes: optional(int()),
    }),
    result: object({
      exitCode: nullable(num()),
      signal: nullable(string({ max: 100 })),
      timedOut: bool(),
      truncated: bool(),
    }),
    streams: { start: true, data: "stream" },
    body: true,
    limits: { defaultTimeoutMs: 10 * 60_000, defaultMaxOutputBytes: 16 * 1024 * 1024, maxTimeoutMs: MAX_EXEC_TIMEOUT_MS },
  }),

  /** A byte window (`offset`, `length`) or a line window (`lines`) of a file; the bytes follow as data. */
  read: op({
    args: object({
      path: string(),
      offset: optional(int()),
      length: optional(int()),
      /** 0-based first line and count: only those lines' bytes are sent. */
      lines: optional(object({ offset: optional(int()), limit: optional(int()) })),
    }),
    result: object({
      size: int(),
      mtimeMs: num(),
      ctimeMs: num(),
      /** Line mode only: number of lines in the file (a final line without "\n" counts). */
      totalLines: optional(int()),
      /** Line mode only: the file holds nothing but ASCII whitespace (deepagents' "empty" file). */
      blank: optional(bool()),
    }),
    streams: { data: "bytes" },
    limits: { defaultLineLimit: 500 },
  }),

  /** Writes the request body (exactly `size` bytes) atomically: a failed write leaves the old file. */
  write: op({
    args: object({
      path: string(),
      /** Fail with `exists` if the file is already there. */
      exclusive: optional(bool()),
      /** Total byte length of the body across chunks. */
      size: int(),
      /** Create parent directories. Default true. */
      parents: optional(bool()),
    }),
    result: object({ size: int(), mtimeMs: num() }),
    streams: {},
    body: true,
  }),

  /** Exact string replacement with deepagents' uniqueness rules. */
  edit: op({
    args: object({
      path: string(),
      oldString: string(),
      newString: string(),
      replaceAll: optional(bool()),
      /** Send the edited file's bytes back as data (the host persists them without a download). */
      returnContent: optional(bool()),
    }),
    result: object({ occurrences: int(), size: int(), mtimeMs: num() }),
    streams: { data: "bytes" },
    limits: { maxEditBytes: 64 * 1024 * 1024 },
  }),

  stat: op({ args: object({ path: string() }), result: fileInfo, streams: {} }),

  ls: op({
    args: object({ path: string(), limit: optional(int(1)), timeBudgetMs: optional(int(1)) }),
    result: object({ entries: array(fileInfo), ...budgeted }),
    streams: {},
    limits: { defaultLimit: 10_000 },
  }),

  glob: op({
    args: object({ pattern: string(), path: optional(string()), limit: optional(int(1)), timeBudgetMs: optional(int(1)) }),
    result: object({ paths: array(fileInfo), ...budgeted }),
    streams: {},
    limits: { defaultLimit: 10_000 },
  }),

  /** Literal text search: the pattern is never a regex and never reaches a shell. */
  grep: op({
    args: object({
      pattern: string(),
      path: optional(string()),
      /** Matched against each file's base name. */
      glob: optional(string()),
      maxCount: optional(int(1)),
      timeBudgetMs: optional(int(1)),
    }),
    result: object({ matches: array(object({ path: viewPath(), line: int(), text: string() })), ...budgeted }),
    streams: {},
    limits: { defaultMaxCount: 10_000 },
  }),

  /** A symlink is removed, never followed. */
  delete: op({ args: object({ path: string(), recursive: optional(bool()) }), result: empty, streams: {} }),

  mkdir: op({ args: object({ path: string(), parents: optional(bool()) }), result: empty, streams: {} }),

  /** Many files at once: the body is the concatenation of all contents, in order. */
  upload: op({
    args: object({
      files: array(object({ path: string(), size: int() })),
      /**
       * Host-only installs (skills): may write under read-only roots such as /skills, and the files
       * stay owned by root so the sandbox user can read but not change them. Never set from model input.
       */
      install: optional(bool()),
    }),
    result: object({ results: array(object({ path: string(), error: optional(errorCode), size: optional(int()), mtimeMs: optional(num()) })) }),
    streams: {},
    body: true,
  }),

  /** Each found file's bytes follow as `data` frames tagged with `part` = its index in `paths`. */
  download: op({
    args: object({ paths: array(string()) }),
    result: object({ files: array(object({ path: string(), size: int(), error: optional(errorCode) })) }),
    streams: { data: "part" },
  }),

  /**
   * Every regular file under `path` (default /workspace): the host diffs it to persist. With
   * `since` (the token of an earlier answer) the agent may answer with only what changed: then
   * `scopes` lists the paths that changed, and `files` every file under them (a scope without
   * files is gone). Without `scopes` the answer is a full listing. Every answer that starts a
   * listing or follows a change log carries the `token` to ask with next time.
   */
  manifest: op({
    args: object({
      path: optional(string()),
      limit: optional(int(1)),
      /** Paging: only files after this view path in walk order (name order, depth first). */
      after: optional(string()),
      /** The token of the last answer; with `after`, the token of the listing it continues. */
      since: optional(string({ max: 100 })),
      timeBudgetMs: optional(int(1)),
    }),
    result: object({ files: array(fileInfo), scopes: optional(array(string())), token: optional(string({ max: 100 })), ...budgeted }),
    streams: {},
    limits: { defaultLimit: 100_000 },
  }),

  /** Aborts another running request (an exec is killed with its process group). */
  cancel: op({ args: object({ target: int(1) }), result: empty, streams: {} }),
};

export type Op = keyof typeof OP_SCHEMAS;
export const OPS = Object.keys(OP_SCHEMAS) as Op[];
export type Args<O extends Op> = Infer<(typeof OP_SCHEMAS)[O]["args"]>;
export type Result<O extends Op> = Infer<(typeof OP_SCHEMAS)[O]["result"]>;
export type OpMap = { [O in Op]: { args: Args<O>; result: Result<O> } };

export function isOp(v: unknown): v is Op {
  return typeof v === "string" && Object.hasOwn(OP_SCHEMAS, v);
}

// Named shapes, for code that handles one op.
export type FileInfo = Infer<typeof fileInfo>;
export type HelloArgs = Args<"hello">;
export type HelloResult = Result<"hello">;
export type ExecArgs = Args<"exec">;
export type ExecResult = Result<"exec">;
export type ReadArgs = Args<"read">;
export type ReadResult = Result<"read">;
export type WriteArgs = Args<"write">;
export type WriteResult = Result<"write">;
export type EditArgs = Args<"edit">;
export type EditResult = Result<"edit">;
export type StatArgs = Args<"stat">;
export type LsArgs = Args<"ls">;
export type LsResult = Result<"ls">;
export type GlobArgs = Args<"glob">;
export type GlobResult = Result<"glob">;
export type GrepArgs = Args<"grep">;
export type GrepResult = Result<"grep">;
export type GrepMatch = GrepResult["matches"][number];
export type DeleteArgs = Args<"delete">;
export type MkdirArgs = Args<"mkdir">;
export type UploadArgs = Args<"upload">;
export type UploadResult = Result<"upload">;
export type DownloadArgs = Args<"download">;
export type DownloadResult = Result<"download">;
export type ManifestArgs = Args<"manifest">;
export type ManifestResult = Result<"manifest">;
export type CancelArgs = Args<"cancel">;
