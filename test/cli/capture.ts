/** Captured I/O for running `main()` in-process. */
import type { CliIo, CliOutput } from "../../src/cli/context.ts";

export interface Captured extends CliIo {
  out(): string;
  err(): string;
}

export function captureIo(env: NodeJS.ProcessEnv, cwd = process.cwd(), tty = false): Captured {
  const o: string[] = [];
  const e: string[] = [];
  const stdout: CliOutput = { write: (s: string) => o.push(s), isTTY: tty, columns: 80 };
  const stderr: CliOutput = { write: (s: string) => e.push(s), isTTY: false };
  return { stdout, stderr, env, cwd, out: () => o.join(""), err: () => e.join("") };
}
