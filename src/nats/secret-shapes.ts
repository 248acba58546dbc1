/**
 * Shapes of secrets that must never leave the process in an event: Stellar secret seeds ("S" +
 * 55 base32 characters) and provider API keys (`sk-…`, `sk-ant-…`). Public keys (G…) are not
 * secrets. The agent redacts these before publishing; `EventLog.publish` refuses what is left.
 */
export const SECRET_SHAPES: readonly RegExp[] = [/\bS[A-Z2-7]{55}\b/g, /\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}/g];

/** The text with anything shaped like a secret replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  return SECRET_SHAPES.reduce((t, re) => t.replace(re, "[redacted]"), text);
}

export function looksSecret(text: string): boolean {
  return SECRET_SHAPES.some((re) => {
    re.lastIndex = 0;
    return re.test(text);
  });
}
