/**
 * Defence in depth for "secrets are never printed": every byte the CLI writes passes through a
 * filter that replaces the values of the secret-bearing environment variables. The components
 * already keep secrets out of events and errors; this catches a mistake anywhere else.
 */
import { secretRedactor } from "../config/index.ts";
import type { CliIo, CliOutput } from "./context.ts";

function redacting(out: CliOutput, redact: (t: string) => string): CliOutput {
  return {
    write: (chunk: string) => out.write(redact(chunk)),
    get isTTY() {
      return out.isTTY;
    },
    get columns() {
      return out.columns;
    },
  };
}

/** The same I/O with every write redacted. */
export function redactingIo(io: CliIo): CliIo {
  const redact = secretRedactor(io.env);
  return { ...io, stdout: redacting(io.stdout, redact), stderr: redacting(io.stderr, redact) };
}
