/** The wallet: keys, spending policy, payments, the audit ledger. */
export { isStellarAddress } from "./address.ts";
export { createWalletKey, importWalletKey, listPayments, walletStatus } from "./admin.ts";
export { formatAmount, parseAmount } from "./amount.ts";
export { WalletErrorCode } from "./error-codes.ts";
export { WalletError } from "./errors.ts";
export { Keystore, WalletEnv } from "./keystore.ts";
export { FileLedgerAnchor } from "./ledger-anchor.ts";
export { checkLedgerMeaning } from "./ledger-meaning.ts";
export { AuditLedger, type LedgerEntry, type LedgerOptions, type LedgerSigner } from "./ledger.ts";
export { createOwnerKey, OwnerEnv, type OwnerKey, readOwnerPublicKey, unlockOwnerKey } from "./owner-key.ts";
export { type PaymentRecord, PaymentStatus, PROPOSAL_ID, PROPOSAL_ID_RULE } from "./payment-record.ts";
export { loadPolicyFile, type PolicyDecision, type SpendingPolicy } from "./policy.ts";
export { Secret } from "./secret.ts";
export { Signer } from "./signer.ts";
export { DEFAULT_NETWORK_PASSPHRASE } from "./stellar.ts";
export { Wallet } from "./wallet.ts";
