import { Keypair } from "@stellar/stellar-sdk";
import { parseStellarAddress } from "../../src/wallet/address.ts";
import { parseAmount } from "../../src/wallet/amount.ts";
import { NATIVE_ASSET, parseAssetId } from "../../src/wallet/asset.ts";
import { WalletError } from "../../src/wallet/errors.ts";
import { evaluatePolicy, parsePolicy, PolicyRule, type PaymentRequest } from "../../src/wallet/policy.ts";

const alice = parseStellarAddress(Keypair.random().publicKey());
const stranger = parseStellarAddress(Keypair.random().publicKey());
const issuer = Keypair.random().publicKey();
const now = new Date("2026-06-01T12:00:00Z");

const policy = parsePolicy({
  version: 1,
  delegation: { expiresAt: "2026-07-01T00:00:00Z" },
  destinations: [{ address: alice, label: "Alice" }],
  assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "100", hours: 24 }, approvalAbove: "20" } },
});

const req = (amount: string, over: Partial<PaymentRequest> = {}): PaymentRequest => ({
  destination: alice,
  asset: NATIVE_ASSET,
  amount: parseAmount(amount),
  ...over,
});
const ctx = { now, windowSpent: 0n };

describe("spending policy", () => {
  it("denies everything without a policy", () => {
    expect(evaluatePolicy(undefined, req("1"), ctx)).toMatchObject({ outcome: "deny", rule: PolicyRule.NoPolicy });
  });

  it("allows a small payment to a listed destination", () => {
    expect(evaluatePolicy(policy, req("5"), ctx)).toEqual({ outcome: "allow" });
  });

  it("per-transaction cap is inclusive: exactly at the cap passes the cap, one stroop above is denied", () => {
    // At the cap (50) the cap rule passes; the approval threshold (20) still applies.
    expect(evaluatePolicy(policy, req("50"), ctx)).toMatchObject({ outcome: "needs-approval", rule: PolicyRule.ApprovalThreshold });
    expect(evaluatePolicy(policy, req("50.0000001"), ctx)).toMatchObject({ outcome: "deny", rule: PolicyRule.PerTransaction });
  });

  it("approval threshold: exactly at it is allowed, one stroop above needs a human", () => {
    expect(evaluatePolicy(policy, req("20"), ctx)).toEqual({ outcome: "allow" });
    expect(evaluatePolicy(policy, req("20.0000001"), ctx)).toMatchObject({ outcome: "needs-approval" });
  });

  it("rolling window: exactly reaching the cap passes, one stroop more is denied", () => {
    expect(evaluatePolicy(policy, req("10"), { now, windowSpent: parseAmount("90") })).toEqual({ outcome: "allow" });
    expect(evaluatePolicy(policy, req("10.0000001"), { now, windowSpent: parseAmount("90") })).toMatchObject({
      outcome: "deny",
      rule: PolicyRule.RollingWindow,
    });
  });

  it("expired delegation denies, even one millisecond after expiry and exactly at it", () => {
    expect(evaluatePolicy(policy, req("1"), { now: new Date("2026-06-30T23:59:59.999Z"), windowSpent: 0n })).toEqual({ outcome: "allow" });
    expect(evaluatePolicy(policy, req("1"), { now: new Date("2026-07-01T00:00:00Z"), windowSpent: 0n })).toMatchObject({
      outcome: "deny",
      rule: PolicyRule.DelegationExpired,
    });
  });

  it("unlisted destination is denied", () => {
    expect(evaluatePolicy(policy, req("1", { destination: stranger }), ctx)).toMatchObject({ outcome: "deny", rule: PolicyRule.Destination });
  });

  it("wrong asset is denied, including a same-code asset from another issuer", () => {
    expect(evaluatePolicy(policy, req("1", { asset: parseAssetId(`USDC:${issuer}`) }), ctx)).toMatchObject({
      outcome: "deny",
      rule: PolicyRule.Asset,
    });
    expect(evaluatePolicy(policy, req("1", { asset: parseAssetId(`XLM:${issuer}`) }), ctx)).toMatchObject({ rule: PolicyRule.Asset });
  });

  it("rejects malformed policy files with a clear message", () => {
    const base = {
      version: 1,
      delegation: { expiresAt: "2026-07-01T00:00:00Z" },
      destinations: [alice],
      assets: { XLM: { perTransaction: "50", rollingWindow: { amount: "100", hours: 24 } } },
    };
    expect(() => parsePolicy(base)).not.toThrow();
    const bad = (patch: object, pattern: RegExp) => {
      const e = (() => {
        try {
          parsePolicy({ ...base, ...patch });
        } catch (err) {
          return err;
        }
      })();
      expect(WalletError.isInstance(e) && e.code).toBe("invalid_policy");
      expect((e as Error).message).toMatch(pattern);
    };
    bad({ assets: { XLM: { perTransaction: 0.1, rollingWindow: { amount: "100", hours: 24 } } } }, /quoted strings/);
    bad({ assets: { XLM: { perTransaction: "-5", rollingWindow: { amount: "100", hours: 24 } } } }, /plain positive decimal/);
    bad({ destinations: [alice.toLowerCase()] }, /destinations/);
    bad({ delegation: { expiresAt: "next tuesday" } }, /expiresAt/);
    bad({ delegation: { expiresAt: "2026-07-01T00:00:00" } }, /with a zone/);
    bad({ extra: true }, /extra|Unrecognized/i);
    bad({ assets: { "USDC:notanissuer": { perTransaction: "1", rollingWindow: { amount: "1", hours: 1 } } } }, /CODE:ISSUER/);
  });
});
