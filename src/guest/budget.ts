/**
 * What one file operation may cost and return. A request that reaches a limit is answered with
 * what it has, `truncated: true`, how many items it found in all (`total`, counted on while time
 * allows) and which limit cut it (`cutBy`) — never with an error, and never after its time: the
 * agent has one thread, and other requests wait while an op computes.
 */
export type CutBy = "items" | "bytes" | "time" | "entries";

export interface Budget {
  /** performance.now() after which the op stops and answers. */
  readonly deadline: number;
  /** Items (matches, paths, entries) returned at most. */
  readonly maxItems: number;
  /** Bytes of paths and text returned at most (JSON overhead aside). */
  readonly maxBytes: number;
  /** Directory entries looked at, at most (a walk over a huge tree stops there). */
  readonly maxEntries: number;
}

/** Time an op may compute unless its caller asks otherwise: well under the host's request timeout (120 s). */
export const OP_TIME_MS = 30_000;
/** Most a caller may ask for (the host does, for exact answers at scale; the model never sets it). */
export const MAX_OP_TIME_MS = 600_000;
export const DEFAULT_ITEMS = 10_000;
export const DEFAULT_BYTES = 8 * 1024 * 1024;
/** Entries a walk looks at: a 100,000-file tree fits five times over. */
export const WALK_ENTRIES = 500_000;

/** A request's budget: `maxItems` as asked (else `items`), its time as asked (else OP_TIME_MS) up to MAX_OP_TIME_MS. */
export function budgetOf(maxItems: number | undefined, timeBudgetMs: number | undefined, items = DEFAULT_ITEMS): Budget {
  return {
    deadline: performance.now() + Math.min(timeBudgetMs ?? OP_TIME_MS, MAX_OP_TIME_MS),
    maxItems: maxItems ?? items,
    maxBytes: DEFAULT_BYTES,
    maxEntries: WALK_ENTRIES,
  };
}

/** Counts what an op collects against its budget; `add` says whether the item may be kept. */
export class Tally {
  total = 0;
  bytes = 0;
  cutBy: CutBy | null = null;
  constructor(private readonly budget: Budget) {}

  /** Counts one item of `bytes`; true when it fits and is to be returned. */
  add(bytes: number): boolean {
    this.total++;
    if (this.cutBy) return false;
    if (this.total > this.budget.maxItems || this.bytes + bytes > this.budget.maxBytes) {
      this.cutBy = this.total > this.budget.maxItems ? "items" : "bytes";
      return false;
    }
    this.bytes += bytes;
    return true;
  }

  /** True when the op's time is up (past its cut, it goes on counting `total` until then). */
  get done(): boolean {
    return performance.now() > this.budget.deadline;
  }

  /** The op stopped early for `why` (the total is then a lower bound). */
  stop(why: CutBy): void {
    this.cutBy ??= why;
    this.stoppedEarly = true;
  }
  stoppedEarly = false;

  /** The fields every budgeted result carries. */
  result(): { truncated: boolean; total: number; cutBy?: CutBy; totalIsLowerBound?: true } {
    if (!this.cutBy) return { truncated: false, total: this.total };
    return { truncated: true, total: this.total, cutBy: this.cutBy, ...(this.stoppedEarly ? { totalIsLowerBound: true as const } : {}) };
  }
}
