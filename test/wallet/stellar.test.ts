import { Keypair, Networks, TransactionBuilder } from "@stellar/stellar-sdk";
import { parseStellarAddress } from "../../src/wallet/address.ts";
import { parseAmount } from "../../src/wallet/amount.ts";
import { NATIVE_ASSET, parseAssetId } from "../../src/wallet/asset.ts";
import { Secret } from "../../src/wallet/secret.ts";
import { Signer } from "../../src/wallet/signer.ts";
import { buildPaymentTransaction, decodePaymentEnvelope, submitEnvelope } from "../../src/wallet/stellar.ts";

describe("stellar payments, offline", () => {
  const owner = Keypair.random();
  const dest = parseStellarAddress(Keypair.random().publicKey());
  const signer = new Signer(new Secret(owner.secret()));

  it("builds and signs a payment whose contents and signature verify offline", () => {
    const tx = buildPaymentTransaction({
      source: signer.publicKey,
      sequence: "41",
      destination: dest,
      asset: NATIVE_ASSET,
      amount: parseAmount("12.3456789"),
      memo: "invoice 7",
    });
    const hash = signer.sign(tx);
    const decoded = decodePaymentEnvelope(tx.toEnvelope().toXDR("base64"));
    expect(decoded).toMatchObject({
      hash,
      source: owner.publicKey(),
      sequence: "42",
      destination: dest,
      asset: "XLM",
      amount: "12.3456789",
      memo: "invoice 7",
      fee: "100",
      signatures: 1,
    });
    // The signature is the owner's over this network's transaction hash.
    expect(owner.verify(tx.hash(), tx.signatures[0].signature())).toBe(true);
    expect(Keypair.random().verify(tx.hash(), tx.signatures[0].signature())).toBe(false);
  });

  it("binds the network passphrase: the same envelope read as another network has a different hash and the signature fails", () => {
    const tx = buildPaymentTransaction({ source: signer.publicKey, sequence: "1", destination: dest, asset: NATIVE_ASSET, amount: 1n });
    signer.sign(tx);
    const xdr = tx.toEnvelope().toXDR("base64");
    const asPublic = TransactionBuilder.fromXDR(xdr, Networks.PUBLIC);
    expect(asPublic.hash().equals(tx.hash())).toBe(false);
    expect(owner.verify(asPublic.hash(), tx.signatures[0].signature())).toBe(false);
  });

  it("signing is deterministic: the same unsigned transaction signs to the same bytes", () => {
    const issuer = Keypair.random().publicKey();
    const mk = () =>
      buildPaymentTransaction({ source: signer.publicKey, sequence: "9", destination: dest, asset: parseAssetId(`USDC:${issuer}`), amount: 5n, maxTime: 2_000_000_000 });
    const a = mk();
    const b = TransactionBuilder.fromXDR(a.toXDR(), Networks.TESTNET);
    signer.sign(a);
    signer.sign(b);
    expect(b.toEnvelope().toXDR("base64")).toBe(a.toEnvelope().toXDR("base64"));
    expect(decodePaymentEnvelope(a.toEnvelope().toXDR("base64")).asset).toBe(`USDC:${issuer}`);
  });

  it("refuses to submit without a Horizon URL", async () => {
    const tx = buildPaymentTransaction({ source: signer.publicKey, sequence: "1", destination: dest, asset: NATIVE_ASSET, amount: 1n });
    await expect(submitEnvelope({ networkPassphrase: Networks.TESTNET }, tx.toEnvelope().toXDR("base64"))).rejects.toMatchObject({
      code: "submit_disabled",
    });
  });

  it("refuses a malformed sequence number", () => {
    expect(() => buildPaymentTransaction({ source: signer.publicKey, sequence: "-1", destination: dest, asset: NATIVE_ASSET, amount: 1n })).toThrow(
      /sequence/,
    );
  });
});
