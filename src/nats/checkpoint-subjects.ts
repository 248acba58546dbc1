import { encodeToken } from "./subject-token.ts";

/** Subjects of the checkpointer's state messages: `<prefix>.<thread>` and `<prefix>.<thread>.<ns>` (tokens encoded). */
export class StateSubjects {
  constructor(readonly prefix: string) {}

  thread(threadId: string): string {
    return `${this.prefix}.${encodeToken(threadId)}`;
  }

  namespace(threadId: string, ns: string): string {
    return `${this.thread(threadId)}.${encodeToken(ns)}`;
  }

  /** Every state message of every thread. */
  all(): string {
    return `${this.prefix}.>`;
  }
}
