import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseStellarAddress, type StellarAddress } from "./address.ts";
import { formatAmount, parseAmount } from "./amount.ts";
import { parseAssetId, type AssetId } from "./asset.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";

/**
 * The owner's spending policy. Default deny: no policy file, an unknown asset, an unlisted
 * destination or an expired delegation all deny. Amounts are decimal strings (YAML integers are
 * accepted; YAML floats are refused because `0.1` would already be a binary approximation).
 *
 * ```yaml
 * version: 1
 * delegation: { expiresAt: "2026-12-31T23:59:59Z" }
 * destinations:
 *   - GB...                       # or { address: GB..., label: "Alice" }
 * assets:
 *   XLM:                          # or "USDC:GA...ISSUER"
 *     perTransaction: "50"        # inclusive
 *     rollingWindow: { amount: "100", hours: 24 }   # inclusive
 *     approvalAbove: "20"         # strictly above this a human must approve
 * ```
 */
export interface SpendingPolicy {
  expiresAt: Date;
  destinations: ReadonlyMap<StellarAddress, string | undefined>;
  assets: ReadonlyMap<AssetId, AssetLimits>;
}

export interface AssetLimits {
  /** Stroops, inclusive. */
  perTransaction: bigint;
  window: { amount: bigint; ms: number };
  /** Stroops; amounts strictly greater need a human approval. Absent: never. */
  approvalAbove?: bigint;
}

/** The rules a decision can name. */
export const PolicyRule = {
  NoPolicy: "no_policy",
  InvalidInput: "invalid_input",
  DelegationExpired: "delegation_expired",
  Asset: "asset_not_allowed",
  Destination: "destination_not_allowed",
  PerTransaction: "per_transaction_cap",
  RollingWindow: "rolling_window_cap",
  ApprovalThreshold: "approval_threshold",
  Replay: "replayed_proposal",
  Rejected: "rejected_by_owner",
} as const;
export type PolicyRule = (typeof PolicyRule)[keyof typeof PolicyRule];

export type PolicyDecision =
  | { outcome: "allow" }
  | { outcome: "deny"; rule: PolicyRule; reason: string }
  | { outcome: "needs-approval"; rule: typeof PolicyRule.ApprovalThreshold; reason: string };

/** A payment whose fields have already passed the strict parsers. */
export interface PaymentRequest {
  destination: StellarAddress;
  asset: AssetId;
  /** Stroops. */
  amount: bigint;
}

export interface PolicyContext {
  now: Date;
  /** Stroops of this asset already reserved (pending + approved + signed) inside the window ending now. */
  windowSpent: bigint;
}

/** Pure: the policy's verdict on one request. Order: expiry, asset, destination, caps, approval. */
export function evaluatePolicy(policy: SpendingPolicy | undefined, req: PaymentRequest, ctx: PolicyContext): PolicyDecision {
  if (!policy) return { outcome: "deny", rule: PolicyRule.NoPolicy, reason: "no spending policy is configured" };
  if (!(ctx.now.getTime() < policy.expiresAt.getTime())) {
    return { outcome: "deny", rule: PolicyRule.DelegationExpired, reason: `the delegation expired at ${policy.expiresAt.toISOString()}` };
  }
  const limits = policy.assets.get(req.asset);
  if (!limits) return { outcome: "deny", rule: PolicyRule.Asset, reason: `asset ${req.asset} is not allowed` };
  if (!policy.destinations.has(req.destination)) {
    return { outcome: "deny", rule: PolicyRule.Destination, reason: `destination ${req.destination} is not on the allowlist` };
  }
  if (req.amount > limits.perTransaction) {
    return {
      outcome: "deny",
      rule: PolicyRule.PerTransaction,
      reason: `${formatAmount(req.amount)} ${req.asset} is above the per-transaction cap of ${formatAmount(limits.perTransaction)}`,
    };
  }
  if (ctx.windowSpent + req.amount > limits.window.amount) {
    return {
      outcome: "deny",
      rule: PolicyRule.RollingWindow,
      reason: `${formatAmount(ctx.windowSpent)} ${req.asset} already committed in the window; ${formatAmount(req.amount)} more would exceed the cap of ${formatAmount(limits.window.amount)}`,
    };
  }
  if (limits.approvalAbove !== undefined && req.amount > limits.approvalAbove) {
    return {
      outcome: "needs-approval",
      rule: PolicyRule.ApprovalThreshold,
      reason: `${formatAmount(req.amount)} ${req.asset} is above the approval threshold of ${formatAmount(limits.approvalAbove)}`,
    };
  }
  return { outcome: "allow" };
}

const amountText = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === "number" && !Number.isSafeInteger(v)) {
    ctx.addIssue({ code: "custom", message: `write decimal amounts as quoted strings ("${v}"), not numbers` });
    return z.NEVER;
  }
  try {
    return parseAmount(String(v));
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});

const PolicyFileSchema = z.strictObject({
  version: z.literal(1),
  delegation: z.strictObject({ expiresAt: z.union([z.string(), z.date()]) }),
  destinations: z.array(z.union([z.string(), z.strictObject({ address: z.string(), label: z.string().optional() })])),
  assets: z.record(
    z.string(),
    z.strictObject({
      perTransaction: amountText,
      rollingWindow: z.strictObject({ amount: amountText, hours: z.number().positive().max(24 * 366) }),
      approvalAbove: amountText.optional(),
    }),
  ),
});

/** Validates an already-parsed policy document (from JSON or YAML). Throws `invalid_policy`. */
export function parsePolicy(doc: unknown): SpendingPolicy {
  const r = PolicyFileSchema.safeParse(doc);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new WalletError(WalletErrorCode.InvalidPolicy, `invalid spending policy: ${issues}`, { cause: r.error });
  }
  const f = r.data;
  const expiresAt = f.delegation.expiresAt instanceof Date ? f.delegation.expiresAt : new Date(f.delegation.expiresAt);
  if (Number.isNaN(expiresAt.getTime()) || (typeof f.delegation.expiresAt === "string" && !/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:\d\d)$/.test(f.delegation.expiresAt))) {
    throw new WalletError(WalletErrorCode.InvalidPolicy, "invalid spending policy: delegation.expiresAt must be an ISO-8601 time with a zone");
  }
  const destinations = new Map<StellarAddress, string | undefined>();
  for (const d of f.destinations) {
    const [address, label] = typeof d === "string" ? [d, undefined] : [d.address, d.label];
    try {
      destinations.set(parseStellarAddress(address), label);
    } catch (cause) {
      throw new WalletError(WalletErrorCode.InvalidPolicy, `invalid spending policy: destinations: ${(cause as Error).message}`, { cause });
    }
  }
  const assets = new Map<AssetId, AssetLimits>();
  for (const [name, a] of Object.entries(f.assets)) {
    let id: AssetId;
    try {
      id = parseAssetId(name);
    } catch (cause) {
      throw new WalletError(WalletErrorCode.InvalidPolicy, `invalid spending policy: assets: ${(cause as Error).message}`, { cause });
    }
    assets.set(id, {
      perTransaction: a.perTransaction,
      window: { amount: a.rollingWindow.amount, ms: Math.round(a.rollingWindow.hours * 3_600_000) },
      approvalAbove: a.approvalAbove,
    });
  }
  return { expiresAt, destinations, assets };
}

/**
 * A fingerprint of what the policy allows (not of its formatting): a mandate names the version it
 * was decided under, and is void once the owner changes the policy.
 */
export function policyVersion(policy: SpendingPolicy): string {
  const normal = {
    expiresAt: policy.expiresAt.toISOString(),
    destinations: [...policy.destinations.keys()].sort(),
    assets: [...policy.assets.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, l]) => [id, l.perTransaction.toString(), l.window.amount.toString(), l.window.ms, l.approvalAbove?.toString() ?? null]),
  };
  return createHash("sha256").update(JSON.stringify(normal)).digest("hex").slice(0, 32);
}

/** Reads the owner's policy file (`.json`, `.yaml` or `.yml`). A missing file is an error here; callers that want "no policy = deny everything" pass `undefined` to `evaluatePolicy`. */
export async function loadPolicyFile(path: string): Promise<SpendingPolicy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new WalletError(WalletErrorCode.InvalidPolicy, `cannot read spending policy ${path}`, { cause });
  }
  let doc: unknown;
  try {
    doc = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { schema: "core" });
  } catch (cause) {
    throw new WalletError(WalletErrorCode.InvalidPolicy, `spending policy ${path} is not valid ${path.endsWith(".json") ? "JSON" : "YAML"}`, { cause });
  }
  return parsePolicy(doc);
}

/** Parses the raw fields a model sent into a `PaymentRequest`; throws `WalletError` on hostile input. */
export function parsePaymentRequest(raw: { destination: unknown; asset: unknown; amount: unknown }): PaymentRequest {
  return { destination: parseStellarAddress(raw.destination), asset: parseAssetId(raw.asset), amount: parseAmount(raw.amount) };
}
