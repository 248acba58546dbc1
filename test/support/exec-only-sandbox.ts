/**
 * deepagents' `BaseSandbox` driven through a `MicroVMBackend`'s `execute` only: the route every
 * pure-exec provider package takes (each file operation becomes a shell command: find, awk,
 * grep -rHnF…), on the very same VM. Used as the reference in the contract test and as the
 * baseline in `bench/sandbox.ts`.
 *
 * uploadFiles/downloadFiles go through the shell too, the way a provider without a file API must:
 * base64 in pieces (one shell argument holds at most 128 KiB), with deepagents' error codes.
 */
import { BaseSandbox, type ExecuteResponse, type FileDownloadResponse, type FileOperationError, type FileUploadResponse } from "deepagents";

/** What the route needs: a command runner (MicroVMBackend satisfies it). */
export interface CommandRunner {
  execute(command: string): Promise<ExecuteResponse>;
}

const CHUNK = 96 * 1024;

function quote(path: string): string {
  return `'${path.replace(/'/g, "'\\''")}'`;
}

export class ExecOnlySandbox extends BaseSandbox {
  readonly id = "exec-only";
  constructor(private readonly inner: CommandRunner) {
    super();
  }

  execute(command: string): Promise<ExecuteResponse> {
    return this.inner.execute(command);
  }

  async uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    const out: FileUploadResponse[] = [];
    for (const [path, data] of files) {
      const q = quote(path);
      const b64 = Buffer.from(data).toString("base64");
      let r = await this.execute(`if [ -d ${q} ]; then echo is_directory; exit 1; fi; mkdir -p "$(dirname ${q})" && : > ${q}`);
      for (let at = 0; at < b64.length && r.exitCode === 0; at += CHUNK) {
        r = await this.execute(`printf %s '${b64.slice(at, at + CHUNK)}' | base64 -d >> ${q}`);
      }
      const error: FileOperationError | null = r.exitCode === 0 ? null : r.output.startsWith("is_directory") ? "is_directory" : "permission_denied";
      out.push({ path, error });
    }
    return out;
  }

  async downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    const out: FileDownloadResponse[] = [];
    for (const path of paths) {
      const q = quote(path);
      const r = await this.execute(
        `if [ -d ${q} ]; then echo is_directory; exit 1; elif [ ! -e ${q} ]; then echo file_not_found; exit 1; fi; base64 -w0 ${q} 2>/dev/null || { echo permission_denied; exit 1; }`,
      );
      if (r.exitCode === 0) out.push({ path, content: new Uint8Array(Buffer.from(r.output, "base64")), error: null });
      else out.push({ path, content: null, error: r.output.trim() as FileOperationError });
    }
    return out;
  }
}
