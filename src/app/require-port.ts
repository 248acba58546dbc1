/**
 * Refuses a port that lacks one of the methods its consumer calls, naming them, when it is handed
 * over: a plain-JavaScript caller (or a cast) gets this error instead of a silent no-op later.
 * TypeScript callers are stopped earlier, by the port's type.
 */
export function requirePort<T extends object>(what: string, port: T, methods: readonly (keyof T & string)[]): T {
  const missing = methods.filter((m) => typeof (port as Record<string, unknown> | null)?.[m] !== "function");
  if (missing.length > 0) throw new TypeError(`${what} lacks ${missing.map((m) => `${m}()`).join(", ")}: it cannot be used as a port`);
  return port;
}
