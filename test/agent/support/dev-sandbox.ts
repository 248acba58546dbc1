import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ExecuteResponse } from "deepagents";
import { LocalShellBackend } from "deepagents";

/**
 * DEVELOPMENT ONLY, until every agent test runs on the real MicroVMBackend: deepagents' own
 * LocalShellBackend rooted in a temporary folder, with `/workspace` and `/skills` in commands
 * mapped into that folder. It is not a sandbox (commands run on the host).
 */
export class DevSandbox extends LocalShellBackend {
  readonly executed: string[] = [];
  constructor(readonly root: string) {
    super({ rootDir: root, virtualMode: true, inheritEnv: true });
    mkdirSync(join(root, "workspace"), { recursive: true }); // as in the VM
  }
  override async execute(command: string): Promise<ExecuteResponse> {
    this.executed.push(command);
    const mapped = command.replace(/(^|[\s'"=])\/(workspace|skills)\b/g, `$1${this.root}/$2`);
    return super.execute(mapped);
  }
}
