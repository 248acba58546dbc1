/**
 * The one shape of Vibewriter's typed errors: a `code` from the layer's `as const` table, a
 * message for people, and the `cause` passed through. Each layer subclasses it with its own name,
 * code union and `isInstance` check.
 */
export class CodedError<C extends string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
