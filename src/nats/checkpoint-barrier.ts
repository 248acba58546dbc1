import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * The checkpointer's write barrier. A thread's pending writes (putWrites) are published at the
 * end of the event-loop turn, or sooner with the thread's next read or put (in the same socket
 * write as its request); the thread's next checkpoint or read first waits for every one of them to
 * be acknowledged, and fails if one never was: no checkpoint is stored after a lost write.
 */
export class WriteBarrier {
  /** Writes published and not acknowledged yet, per thread. */
  readonly #unacked = new Map<string, Set<Promise<void>>>();
  /** Writes not published yet, per thread (they go at the end of the turn, or with the thread's next read or put). */
  readonly #queued = new Map<string, (() => Promise<void>)[]>();

  /**
   * Publishes `send` when this turn of the event loop ends, so the writes of tasks finishing
   * together share one socket write (or sooner: `sendQueued`); its acknowledgement is awaited by
   * the thread's next `acked`.
   */
  defer(threadId: string, send: () => Promise<void>): void {
    let sent: Promise<void> | undefined;
    const sendOnce = () => (sent ??= send());
    const queue = this.#queued.get(threadId) ?? [];
    queue.push(sendOnce);
    this.#queued.set(threadId, queue);
    this.#track(
      threadId,
      nextTurn().then(() => {
        this.sendQueued(threadId);
        return sendOnce();
      }),
    );
  }

  #track(threadId: string, write: Promise<void>): void {
    let set = this.#unacked.get(threadId);
    if (!set) this.#unacked.set(threadId, (set = new Set()));
    set.add(write);
    const pending = set;
    // A failure stays in the set until a barrier reports it.
    write.then(
      () => {
        pending.delete(write);
        if (pending.size === 0 && this.#unacked.get(threadId) === pending) this.#unacked.delete(threadId);
      },
      () => {},
    );
  }

  /**
   * Waits for the acknowledgement of every pending write of `threadId` (of every thread when
   * undefined). Throws the first failure, once: the write it belonged to is lost, and the run that
   * made it must fail before its next checkpoint.
   */
  async acked(threadId?: string): Promise<void> {
    this.sendQueued(threadId);
    const sets = threadId === undefined ? [...this.#unacked.values()] : [this.#unacked.get(threadId)].filter((s) => s !== undefined);
    const writes = sets.flatMap((s) => [...s]);
    if (writes.length === 0) return;
    const results = await Promise.allSettled(writes);
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed === -1) return;
    for (const s of sets) for (const w of writes) s.delete(w);
    throw (results[failed] as PromiseRejectedResult).reason;
  }

  /** Publish now the writes of `threadId` (of every thread when undefined) waiting for the turn's end. */
  sendQueued(threadId?: string): void {
    const ids = threadId === undefined ? [...this.#queued.keys()] : [threadId];
    for (const id of ids) {
      const sends = this.#queued.get(id);
      if (!sends) continue;
      this.#queued.delete(id);
      for (const send of sends) send();
    }
  }
}
