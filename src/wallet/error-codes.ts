/** The codes of `WalletError` (errors.ts): snake_case, like every layer's. */
export const WalletErrorCode = {
  /** Neither VIBEWRITER_WALLET_PASSPHRASE nor VIBEWRITER_WALLET_KEY is set: fail closed. */
  Locked: "wallet_locked",
  /** The keystore cannot be decrypted with the configured key (wrong key or tampered file). */
  BadKey: "wallet_bad_key",
  KeystoreCorrupt: "keystore_corrupt",
  KeyExists: "key_exists",
  KeyNotFound: "key_not_found",
  InvalidKey: "invalid_key",
  InvalidAmount: "invalid_amount",
  InvalidAddress: "invalid_address",
  InvalidAsset: "invalid_asset",
  InvalidMemo: "invalid_memo",
  InvalidPolicy: "invalid_policy",
  InvalidProposal: "invalid_proposal",
  ProposalNotFound: "proposal_not_found",
  /** A decision was attempted on a proposal that is not waiting for one. */
  NotPending: "not_pending",
  /** An action needs an owner approval that is not on record. */
  NotApproved: "not_approved",
  /** The owner's delegation has expired: nothing more is signed, even if approved earlier. */
  DelegationExpired: "delegation_expired",
  SubmitDisabled: "submit_disabled",
  /** Horizon could not be reached or answered without a verdict: retrying later may work. */
  SubmitFailed: "submit_failed",
  /** The network refused the transaction (result codes given): this envelope will never land. */
  SubmitRejected: "submit_rejected",
  LedgerConflict: "ledger_conflict",
  /** The owner's key is absent, locked (no VIBEWRITER_OWNER_PASSPHRASE) or does not open. */
  OwnerLocked: "owner_locked",
  OwnerKeyExists: "owner_key_exists",
  /** A mandate's signature, owner, payment or terms do not check out. */
  MandateInvalid: "mandate_invalid",
  /** What was about to be signed disagrees with the mandate, the ledger or the policy: refused and recorded. */
  Tamper: "tamper_detected",
  Nats: "nats_error",
} as const;
export type WalletErrorCode = (typeof WalletErrorCode)[keyof typeof WalletErrorCode];
