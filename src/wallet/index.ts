export { WalletError, WalletErrorCode } from "./errors.ts";
export { Secret } from "./secret.ts";
export { parseAmount, formatAmount, STROOPS_PER_UNIT } from "./amount.ts";
export { parseStellarAddress, isStellarAddress, type StellarAddress } from "./address.ts";
export { parseAssetId, NATIVE_ASSET, type AssetId } from "./asset.ts";
export { parseMemo, MAX_MEMO_BYTES } from "./memo.ts";
export { Keystore, WalletEnv, KEYSTORE_FILE, type KeyInfo, type KeystoreOptions } from "./keystore.ts";
export { Signer } from "./signer.ts";
export { buildPaymentTransaction, decodePaymentEnvelope, submitEnvelope, loadSequence, DEFAULT_NETWORK_PASSPHRASE, type StellarNetwork, type DecodedPayment } from "./stellar.ts";
export {
  evaluatePolicy,
  parsePolicy,
  loadPolicyFile,
  parsePaymentRequest,
  PolicyRule,
  type SpendingPolicy,
  type PolicyDecision,
  type PaymentRequest,
} from "./policy.ts";
export { AuditLedger, LedgerEntryType, LedgerProblemKind, type LedgerEntry, type LedgerVerification, type LedgerProblem } from "./ledger.ts";
export { PaymentStatus, type PaymentRecord } from "./payment-record.ts";
export { Wallet, type WalletOptions, type ProposeInput, type ProposeResult } from "./wallet.ts";
export {
  createWalletKey,
  importWalletKey,
  walletStatus,
  describePolicy,
  approvePayment,
  rejectPayment,
  listPayments,
  pendingPayments,
  verifyLedger,
  type WalletStatus,
} from "./admin.ts";
