/**
 * Runs a trusted tool of the image (GNU `find`, `grep`) for a file operation: argv only, never a
 * shell; as the sandbox user (so it reaches no more than a command could); C locale (bytes, no
 * encoding errors); killed when its request is cancelled, its budget runs out, or the caller has
 * seen enough. Why: under TCG one fs call from Node's JS costs ~0.1–0.5 ms, the same call from C
 * ~20 µs, and one spawn ~40 ms — a tree of thousands of entries is cheaper to walk natively.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentContext } from "./context.ts";
import { GuestAgentError } from "./errors.ts";
import { ErrorCode } from "../protocol/index.ts";

/** Bytes of file names given to one tool run (Linux allows 2 MiB of arguments and environment). */
export const ARGV_BYTES = 1024 * 1024;

export interface ToolRun {
  /** Exit code (null when killed). */
  code: number | null;
  /** True when `onData` asked to stop, the deadline passed or the request was aborted. */
  stopped: "consumer" | "time" | "aborted" | null;
  /** The tail of stderr (for error messages). */
  stderr: string;
}

export interface ToolOptions {
  /** performance.now() value after which the tool is killed. */
  deadline: number;
  /** Checked as output arrives. */
  request: { readonly aborted: boolean };
  /** Each stdout chunk; return false to stop the tool. */
  onData(chunk: Buffer): boolean | void;
  /**
   * Collect stdout in an unlinked temporary file and hand it to `onData` once, at the end, when
   * it is at most this many bytes (else `stopped: "consumer"`). For tools that write many tiny
   * pieces (`cat`): each piece through a pipe is a Node stream event, ~0.4 ms under TCG.
   */
  stdoutToFile?: { maxBytes: number };
}

const TOOL_ENV = { PATH: "/usr/bin:/bin", LC_ALL: "C" };

export function runTool(ctx: AgentContext, file: string, args: string[], opts: ToolOptions): Promise<ToolRun> {
  const out = opts.stdoutToFile ? unlinkedTempFile() : null;
  const start = () =>
    spawn(file, args, {
      cwd: "/",
      env: TOOL_ENV,
      stdio: ["ignore", out ?? "pipe", "pipe"],
      // As the user whose ids the agent's own file operations use (privileges.ts).
      ...(ctx.privileges.lowered && ctx.sandboxUser ? ctx.sandboxUser : {}),
    });
  // With root's effective ids, so the child's setuid drops every id for good (see exec.ts).
  let child: ReturnType<typeof start>;
  try {
    child = ctx.privileges.asRoot(start);
  } catch (err) {
    if (out !== null) closeSync(out);
    throw err;
  }
  return new Promise<ToolRun>((resolve, reject) => {
    let stopped: ToolRun["stopped"] = null;
    let stderr = "";
    const stop = (why: NonNullable<ToolRun["stopped"]>): void => {
      if (stopped) return;
      stopped = why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => stop("time"), Math.max(0, opts.deadline - performance.now()));
    child.stdout?.on("data", (chunk: Buffer) => {
      if (stopped) return;
      if (opts.request.aborted) return stop("aborted");
      if (performance.now() > opts.deadline) return stop("time");
      if (opts.onData(chunk) === false) stop("consumer");
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString("utf8")).slice(-2000);
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      if (out !== null) closeSync(out);
      reject(new GuestAgentError(ErrorCode.Internal, `cannot run ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      if (out !== null) {
        try {
          if (!stopped && !opts.request.aborted) {
            const size = fstatSync(out).size;
            if (size > opts.stdoutToFile!.maxBytes) stopped = "consumer";
            else {
              const buf = Buffer.allocUnsafe(size);
              for (let at = 0; at < size; ) at += readSync(out, buf, at, size - at, at) || size;
              if (opts.onData(buf) === false) stopped = "consumer";
            }
          }
        } finally {
          closeSync(out);
        }
      }
      if (stopped === "aborted" || (opts.request.aborted && !stopped)) return reject(new GuestAgentError(ErrorCode.Cancelled, "cancelled"));
      resolve({ code, stopped, stderr });
    });
  });
}

/** A new file in the agent's temp dir, unlinked at once: only the descriptor reaches it. */
function unlinkedTempFile(): number {
  const path = join(tmpdir(), `.vw-tool-${process.pid}-${randomBytes(8).toString("hex")}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  unlinkSync(path);
  return fd;
}

/**
 * Reads delimited fields from a byte stream that arrives in chunks, keeping at most `max` bytes of
 * any field (the rest is skipped, `cut` set): a tool's output never grows the agent's memory.
 */
export class FieldReader {
  #chunk: Buffer = Buffer.alloc(0);
  #at = 0;
  #parts: Buffer[] = [];
  #kept = 0;
  #seen = 0;
  /** The last field returned was longer than its `max`. */
  cut = false;

  push(chunk: Buffer): void {
    this.#chunk = chunk;
    this.#at = 0;
  }

  /** The next field up to `delim` (excluded), or null: push more. */
  take(delim: number, max: number): Buffer | null {
    const end = this.#chunk.indexOf(delim, this.#at);
    const stop = end === -1 ? this.#chunk.length : end;
    this.#seen += stop - this.#at;
    if (this.#kept < max && stop > this.#at) {
      const piece = this.#chunk.subarray(this.#at, Math.min(stop, this.#at + (max - this.#kept)));
      // The chunk is not ours to keep past this call: a field that spans chunks is copied.
      this.#parts.push(end === -1 ? Buffer.from(piece) : piece);
      this.#kept += piece.length;
    }
    this.#at = stop + (end === -1 ? 0 : 1);
    if (end === -1) return null;
    const field = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
    this.cut = this.#seen > max;
    this.#parts = [];
    this.#kept = 0;
    this.#seen = 0;
    return field;
  }
}
