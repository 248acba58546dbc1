/** Native ed25519 for nkeys: the same keys and signatures as the nkeys package, refusals for bad seeds. */
import { nkeys } from "@nats-io/transport-node";
import { nkeySigner, publicKeyOfUserSeed, verifyByNkey } from "../../src/nats/nkey-crypto.ts";

describe("nkey-crypto", () => {
  it("derives the same public key as nkeys and signs what nkeys verifies", () => {
    for (let i = 0; i < 20; i++) {
      const pair = nkeys.createUser();
      const seed = pair.getSeed();
      expect(publicKeyOfUserSeed(seed)).toBe(pair.getPublicKey());
      const signer = nkeySigner(seed);
      expect(signer.publicKey).toBe(pair.getPublicKey());
      const data = new TextEncoder().encode(`message ${i}`);
      const sig = signer.sign(data);
      expect(pair.verify(data, sig)).toBe(true);
      expect(verifyByNkey(pair.getPublicKey(), data, sig)).toBe(true);
    }
  });

  it("refuses a seed with a bad checksum, a wrong length or another key type", () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const flipped = seed.slice(0, 10) + (seed[10] === "A" ? "B" : "A") + seed.slice(11);
    expect(() => publicKeyOfUserSeed(new TextEncoder().encode(flipped))).toThrow(/checksum/);
    expect(() => publicKeyOfUserSeed(new TextEncoder().encode(seed.slice(0, 40)))).toThrow();
    expect(() => publicKeyOfUserSeed(nkeys.createAccount().getSeed())).toThrow(/user seed/);
    expect(() => publicKeyOfUserSeed(new TextEncoder().encode("not base32 !"))).toThrow();
  });
});
