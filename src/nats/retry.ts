/**
 * Runs `attempt` again, with a doubling wait, while its failure is one `retryable` accepts and
 * `withinMs` has not passed; the last failure is thrown as it came. For work that is safe to repeat
 * (idempotent writes, create-or-open) across a NATS outage such as a cluster electing a leader.
 */
export async function retryWhile<T>(
  attempt: () => Promise<T>,
  opts: { retryable: (err: unknown) => boolean; withinMs: number; firstWaitMs?: number; maxWaitMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.withinMs;
  for (let wait = opts.firstWaitMs ?? 100; ; wait = Math.min(wait * 2, opts.maxWaitMs ?? 2_000)) {
    try {
      return await attempt();
    } catch (err) {
      if (!opts.retryable(err) || Date.now() + wait > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
