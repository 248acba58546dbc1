import {
  Account,
  BASE_FEE,
  FeeBumpTransaction,
  Horizon,
  Memo,
  Networks,
  Operation,
  TransactionBuilder,
  type Transaction,
} from "@stellar/stellar-sdk";
import { parseStellarAddress, type StellarAddress } from "./address.ts";
import { formatAmount } from "./amount.ts";
import { NATIVE_ASSET, toStellarAsset, type AssetId } from "./asset.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";

export const DEFAULT_NETWORK_PASSPHRASE = Networks.TESTNET;

export interface PaymentTransactionInput {
  source: StellarAddress;
  /** The source account's current sequence number (the transaction uses sequence + 1). */
  sequence: string;
  destination: StellarAddress;
  asset: AssetId;
  /** Stroops. */
  amount: bigint;
  memo?: string;
  networkPassphrase?: string;
  /** Fee per operation in stroops; default the network base fee (100). */
  fee?: string;
  /** Unix seconds after which the network refuses the transaction; 0 = none. */
  maxTime?: number;
}

/** Builds an unsigned single-payment transaction, entirely offline. */
export function buildPaymentTransaction(input: PaymentTransactionInput): Transaction {
  if (!/^[0-9]{1,19}$/.test(input.sequence)) {
    throw new WalletError(WalletErrorCode.InvalidProposal, `sequence ${JSON.stringify(input.sequence)} is not an account sequence number`);
  }
  const builder = new TransactionBuilder(new Account(input.source, input.sequence), {
    fee: input.fee ?? BASE_FEE,
    networkPassphrase: input.networkPassphrase ?? DEFAULT_NETWORK_PASSPHRASE,
    timebounds: { minTime: 0, maxTime: input.maxTime ?? 0 },
  }).addOperation(
    Operation.payment({ destination: input.destination, asset: toStellarAsset(input.asset), amount: formatAmount(input.amount) }),
  );
  if (input.memo) builder.addMemo(Memo.text(input.memo));
  return builder.build();
}

export interface DecodedPayment {
  hash: string;
  source: string;
  sequence: string;
  destination: string;
  asset: string;
  /** Decimal text, as Stellar prints it (7 decimals). */
  amount: string;
  memo?: string;
  fee: string;
  signatures: number;
}

/** Reads a payment envelope back (used by tests and `vibewriter ledger show`). */
export function decodePaymentEnvelope(envelopeXdr: string, networkPassphrase = DEFAULT_NETWORK_PASSPHRASE): DecodedPayment {
  const parsed = TransactionBuilder.fromXDR(envelopeXdr, networkPassphrase);
  if (parsed instanceof FeeBumpTransaction) {
    throw new WalletError(WalletErrorCode.InvalidProposal, "envelope is a fee-bump, not a payment");
  }
  const tx = parsed;
  if ( tx.operations.length !== 1 || tx.operations[0].type !== "payment") {
    throw new WalletError(WalletErrorCode.InvalidProposal, "envelope is not a single-payment transaction");
  }
  const op = tx.operations[0];
  const asset = op.asset.isNative() ? NATIVE_ASSET : `${op.asset.getCode()}:${op.asset.getIssuer()}`;
  const memo = tx.memo.type === "text" ? tx.memo.value?.toString() : undefined;
  return {
    hash: tx.hash().toString("hex"),
    source: tx.source,
    sequence: tx.sequence,
    destination: op.destination,
    asset,
    amount: op.amount,
    memo,
    fee: tx.fee,
    signatures: tx.signatures.length,
  };
}

/** Horizon access for the two things the wallet needs online: the sequence and submission. */
export interface StellarNetwork {
  networkPassphrase: string;
  horizonUrl?: string;
}

/** Plain http only to a Horizon on this machine (a local node or test stand-in); anything else must be https. */
function horizon(url: string): Horizon.Server {
  const host = (() => {
    try {
      return new URL(url).hostname;
    } catch {
      throw new WalletError(WalletErrorCode.SubmitFailed, `Horizon URL ${JSON.stringify(url.slice(0, 200))} is not a URL`);
    }
  })();
  return new Horizon.Server(url, { allowHttp: host === "127.0.0.1" || host === "localhost" || host === "[::1]" });
}

export async function loadSequence(network: StellarNetwork, account: StellarAddress): Promise<string> {
  if (!network.horizonUrl) throw new WalletError(WalletErrorCode.SubmitDisabled, "no Horizon URL configured");
  try {
    const acc = await horizon(network.horizonUrl).loadAccount(parseStellarAddress(account));
    return acc.sequenceNumber();
  } catch (cause) {
    throw new WalletError(WalletErrorCode.SubmitFailed, `cannot load account ${account} from Horizon`, { cause });
  }
}

/** Submits a signed envelope. Refuses unless a Horizon URL is configured. */
export async function submitEnvelope(network: StellarNetwork, envelopeXdr: string): Promise<{ hash: string; ledger: number }> {
  if (!network.horizonUrl) throw new WalletError(WalletErrorCode.SubmitDisabled, "submission is disabled: no Horizon URL configured");
  const tx = TransactionBuilder.fromXDR(envelopeXdr, network.networkPassphrase);
  try {
    const res = await horizon(network.horizonUrl).submitTransaction(tx);
    return { hash: res.hash, ledger: res.ledger };
  } catch (cause) {
    // Horizon's result codes (e.g. tx_bad_seq) are public and say what to do; nothing else is echoed.
    // (An axios error carries them in response.data, the SDK's BadResponseError in response.)
    type Extras = { extras?: { result_codes?: unknown } };
    const res = (cause as { response?: Extras & { data?: Extras } })?.response;
    const codes = res?.data?.extras?.result_codes ?? res?.extras?.result_codes;
    const why = codes ? `: ${JSON.stringify(codes).slice(0, 300)}` : "";
    if (codes) throw new WalletError(WalletErrorCode.SubmitRejected, `Horizon refused transaction ${tx.hash().toString("hex")}${why}`, { cause });
    throw new WalletError(WalletErrorCode.SubmitFailed, `cannot submit transaction ${tx.hash().toString("hex")} to Horizon`, { cause });
  }
}
