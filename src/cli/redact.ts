/**
 * Defence in depth for "secrets are never printed": every byte the CLI writes passes through a
 * filter that replaces the values of the secret-bearing environment variables. The components
 * already keep secrets out of events and errors; this catches a mistake anywhere else.
 */
import type { CliIo, CliOutput } from "./context.ts";

/** Environment variables whose values are secrets. */
export const SECRET_ENV_VARS = [
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "VIBEWRITER_WALLET_PASSPHRASE",
  "VIBEWRITER_WALLET_KEY",
  "NATS_PASSWORD",
  "NATS_TOKEN",
] as const;

/** Values shorter than this are not redacted: they would mangle ordinary text ("1", "yes"). */
const MIN_SECRET_LENGTH = 6;

export function secretRedactor(env: NodeJS.ProcessEnv): (text: string) => string {
  const secrets = SECRET_ENV_VARS.map((k) => env[k] ?? "")
    .filter((v) => v.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return (t) => t;
  return (text) => secrets.reduce((t, s) => t.split(s).join("[redacted]"), text);
}

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
