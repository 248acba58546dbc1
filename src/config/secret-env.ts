/**
 * The environment variables whose values are secrets, and a filter that blanks their values out of
 * text: the CLI passes every byte it writes through it, the console the errors it reports.
 */

/** Environment variables whose values are secrets. */
export const SECRET_ENV_VARS = [
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "VIBEWRITER_WALLET_PASSPHRASE",
  "VIBEWRITER_WALLET_KEY",
  "VIBEWRITER_OWNER_PASSPHRASE", // unlocks the owner's key: approvals in `approve` and the console
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
