import { Asset } from "@stellar/stellar-sdk";
import { isStellarAddress } from "./address.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";

/**
 * An asset written the way the owner writes it in the policy: `XLM` for the native lumen, or
 * `CODE:ISSUER` (code 1–12 alphanumerics, issuer an exact account id). The canonical text is the
 * key used for caps and the ledger.
 */
export type AssetId = string & { readonly __brand: "AssetId" };

export const NATIVE_ASSET = "XLM" as AssetId;

export function parseAssetId(input: unknown): AssetId {
  if (typeof input !== "string") {
    throw new WalletError(WalletErrorCode.InvalidAsset, `asset must be a string, got ${typeof input}`);
  }
  if (input === "XLM") return NATIVE_ASSET;
  const m = /^([A-Za-z0-9]{1,12}):(G[A-Z2-7]{55})$/.exec(input);
  if (!m || !isStellarAddress(m[2])) {
    throw new WalletError(
      WalletErrorCode.InvalidAsset,
      `asset ${JSON.stringify(input.slice(0, 80))} must be "XLM" or "CODE:ISSUER" with an exact issuer account id`,
    );
  }
  return input as AssetId;
}

export function toStellarAsset(id: AssetId): Asset {
  if (id === NATIVE_ASSET) return Asset.native();
  const [code, issuer] = id.split(":");
  return new Asset(code, issuer);
}
