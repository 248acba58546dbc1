import { spawn } from "node:child_process";
import { childEnv } from "../../config/index.ts";
import { ImageError, ImageErrorCode } from "./errors.ts";

/**
 * Runs a build tool to completion (argv, no shell) and returns its stdout. A missing binary or a
 * non-zero exit becomes an ImageError that carries the tool's stderr. The tool gets `childEnv()`
 * plus `extraEnv`, never this process's environment.
 */
export function run(
  argv: string[],
  opts: { cwd?: string; extraEnv?: Record<string, string>; input?: Buffer; stdoutTo?: NodeJS.WritableStream } = {},
): Promise<Buffer> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { cwd: opts.cwd, env: childEnv(opts.extraEnv), stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    if (opts.stdoutTo) child.stdout.pipe(opts.stdoutTo);
    else child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e: NodeJS.ErrnoException) => {
      const code = e.code === "ENOENT" ? ImageErrorCode.ToolMissing : ImageErrorCode.CommandFailed;
      const hint = e.code === "ENOENT" ? " (run `bash scripts/setup.sh`)" : "";
      reject(new ImageError(code, `cannot run ${cmd}${hint}`, { cause: e }));
    });
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out));
      const stderr = Buffer.concat(err).toString("utf8").trim().split("\n").slice(-15).join("\n");
      reject(new ImageError(ImageErrorCode.CommandFailed, `${argv.join(" ")} failed (${signal ?? code}):\n${stderr}`));
    });
    child.stdin.on("error", () => {}); // a tool that exits early closes its stdin; the exit code tells
    child.stdin.end(opts.input ?? undefined);
  });
}
