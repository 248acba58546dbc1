import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { WRONG_LAST_SEQUENCE, WRONG_LAST_SEQUENCE_CONSTANT } from "../nats/index.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";

export interface Reservation {
  id: string;
  asset: string;
  /** Stroops as decimal digits. */
  stroops: string;
  /** Epoch ms when the proposal was made. */
  at: number;
}

interface WindowDoc {
  reservations: Reservation[];
}

const KEY = "window";
/** Reservations older than this are dropped whatever the policy says (the policy caps windows at a year). */
const MAX_KEEP_MS = 367 * 24 * 3_600_000;

/**
 * The amounts committed inside the rolling windows, kept as one KV document updated with
 * compare-and-set. Checking the cap and reserving the amount happen in one CAS, so two proposals
 * racing each other cannot both squeeze under the cap, and splitting a payment into many small
 * ones adds up here like any other payments.
 */
export class SpendWindow {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  /**
   * Runs `decide(spentInWindow)` and, if it returns `reserve: true`, records the reservation —
   * atomically; on a concurrent change it re-reads and decides again.
   */
  async reserve<T>(
    r: Omit<Reservation, "stroops"> & { stroops: bigint; windowMs: number | undefined },
    decide: (spent: bigint) => { reserve: boolean; result: T },
  ): Promise<T> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const { doc, revision } = await this.#read();
      const live = doc.reservations.filter((x) => x.at > r.at - MAX_KEEP_MS && x.id !== r.id);
      const spent =
        r.windowMs === undefined
          ? 0n
          : live.filter((x) => x.asset === r.asset && x.at > r.at - r.windowMs!).reduce((s, x) => s + BigInt(x.stroops), 0n);
      const { reserve, result } = decide(spent);
      if (!reserve) return result;
      live.push({ id: r.id, asset: r.asset, stroops: r.stroops.toString(), at: r.at });
      if (await this.#write({ reservations: live }, revision)) return result;
    }
    throw new WalletError(WalletErrorCode.Nats, "spend window: too many concurrent updates");
  }

  /** Frees a reservation (rejected proposal). */
  async release(id: string): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const { doc, revision } = await this.#read();
      if (!doc.reservations.some((x) => x.id === id)) return;
      if (await this.#write({ reservations: doc.reservations.filter((x) => x.id !== id) }, revision)) return;
    }
    throw new WalletError(WalletErrorCode.Nats, "spend window: too many concurrent updates");
  }

  /**
   * What was reserved in the same asset's window before reservation `id` was made (for the check
   * at signing time: the amount `id` was allowed against). Undefined when `id` holds no reservation.
   */
  async spentBefore(id: string, asset: string, windowMs: number): Promise<bigint | undefined> {
    const all = (await this.#read()).doc.reservations;
    const own = all.find((x) => x.id === id);
    if (!own) return undefined;
    return all
      .filter((x) => x.id !== id && x.asset === asset && x.at <= own.at && x.at > own.at - windowMs)
      .reduce((s, x) => s + BigInt(x.stroops), 0n);
  }

  async list(): Promise<Reservation[]> {
    return (await this.#read()).doc.reservations;
  }

  async #read(): Promise<{ doc: WindowDoc; revision: number }> {
    const e = await this.#kv.get(KEY);
    if (!e || e.operation !== "PUT") return { doc: { reservations: [] }, revision: 0 };
    return { doc: e.json<WindowDoc>(), revision: e.revision };
  }

  async #write(doc: WindowDoc, revision: number): Promise<boolean> {
    try {
      if (revision === 0) await this.#kv.create(KEY, JSON.stringify(doc));
      else await this.#kv.update(KEY, JSON.stringify(doc), revision);
      return true;
    } catch (e) {
      if (isCasConflict(e)) return false;
      throw new WalletError(WalletErrorCode.Nats, "spend window: cannot write", { cause: e });
    }
  }
}

/** A KV create/update lost a compare-and-set race. */
export function isCasConflict(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.code === WRONG_LAST_SEQUENCE || e.code === WRONG_LAST_SEQUENCE_CONSTANT);
}
