/**
 * The console's payments: reading every proposal, and — when the console holds the owner's key —
 * deciding one through the same path as `vibewriter approve` (app/payment-decision.ts). The key
 * stays inside the owner's Wallet object in this process; nothing here returns it.
 */
import { AppError, AppErrorCode, decidePayment, type DecisionOutcome, type PaymentDecision } from "../app/index.ts";
import type { Backbone } from "../nats/index.ts";
import { type PaymentRecord, Wallet, WalletError, WalletErrorCode } from "../wallet/index.ts";
import { WebError, WebErrorCode } from "./errors.ts";

export interface OwnerSeat {
  /** The wallet opened with the owner's key and ledger. */
  wallet: Wallet;
  /** Who decides, as the ledger records it (e.g. `console:alice`). */
  by: string;
}

export class PaymentDesk {
  readonly #backbone: Backbone;
  readonly #owner: OwnerSeat | undefined;
  /** Why this console cannot decide (absent when it can). */
  readonly hint: string | undefined;
  #reader: Promise<Wallet | undefined> | undefined;

  constructor(backbone: Backbone, owner: OwnerSeat | undefined, hint?: string) {
    this.#backbone = backbone;
    this.#owner = owner;
    this.hint = owner ? undefined : (hint ?? "this console cannot decide payments");
  }

  get canDecide(): boolean {
    return this.#owner !== undefined;
  }

  /** A wallet to read proposals with; none while no payments bucket exists (nothing was ever proposed). */
  #wallet(): Promise<Wallet | undefined> {
    if (this.#owner) return Promise.resolve(this.#owner.wallet);
    this.#reader ??= Wallet.open({ nats: this.#backbone, policy: undefined }).catch((e: unknown) => {
      this.#reader = undefined; // try again next time: a runtime may create the buckets meanwhile
      if (WalletError.isInstance(e, WalletErrorCode.Nats)) return undefined;
      throw e;
    });
    return this.#reader;
  }

  /** Every proposal, newest first. */
  async records(): Promise<PaymentRecord[]> {
    const wallet = await this.#wallet();
    return wallet ? wallet.list() : [];
  }

  /** Approves or rejects as the owner; errors become HTTP errors with the wallet's message. */
  async decide(id: string, decision: PaymentDecision): Promise<DecisionOutcome> {
    if (!this.#owner) throw new WebError(WebErrorCode.Conflict, this.hint!);
    try {
      return await decidePayment(this.#owner.wallet, this.#backbone, id, decision, this.#owner.by);
    } catch (e) {
      if (AppError.isInstance(e)) {
        const fix = e.fix ? ` ${e.fix}` : "";
        throw new WebError(e.code === AppErrorCode.NotFound ? WebErrorCode.NotFound : WebErrorCode.Conflict, `${e.message}.${fix}`);
      }
      throw e;
    }
  }
}
