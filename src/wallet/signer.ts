import { inspect } from "node:util";
import { Keypair, type Transaction, type FeeBumpTransaction } from "@stellar/stellar-sdk";
import type { StellarAddress } from "./address.ts";
import { Secret } from "./secret.ts";

/**
 * Signs Stellar transactions in the host process. The seed lives in a private field wrapped in a
 * `Secret`: the object prints, serialises and inspects as its public key only. There is no getter
 * for the seed; the keystore is the only way in.
 */
export class Signer {
  readonly publicKey: StellarAddress;
  readonly #seed: Secret<string>;
  /** Called after every signature (tests count them to prove a proposal never signs twice). */
  readonly #onSign?: (txHash: string) => void;

  constructor(seed: Secret<string>, options: { onSign?: (txHash: string) => void } = {}) {
    this.#seed = seed;
    this.publicKey = Keypair.fromSecret(seed.reveal()).publicKey() as StellarAddress;
    this.#onSign = options.onSign;
  }

  /** Adds this account's signature to `tx` (in place) and returns the transaction hash (hex). */
  sign(tx: Transaction | FeeBumpTransaction): string {
    tx.sign(Keypair.fromSecret(this.#seed.reveal()));
    const hash = tx.hash().toString("hex");
    this.#onSign?.(hash);
    return hash;
  }

  /** A copy of this signer that reports each signature to `onSign`. */
  observed(onSign: (txHash: string) => void): Signer {
    return new Signer(this.#seed, { onSign });
  }

  toString(): string {
    return `Signer(${this.publicKey})`;
  }

  toJSON(): { publicKey: string } {
    return { publicKey: this.publicKey };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
