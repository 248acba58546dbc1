/**
 * Ed25519 with nkeys, through node:crypto. The nkeys package signs in plain JavaScript (7–45 ms a
 * signature on these machines, bench/wallet.ts); node's native ed25519 takes ~0.1 ms. Keys are the
 * same: an nkey seed holds the 32-byte ed25519 seed, a public nkey the 32-byte public key.
 */
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { nkeys } from "@nats-io/transport-node";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding (the nkeys encoding). */
function base32(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) throw new Error("not base32");
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");

export interface NkeySigner {
  readonly publicKey: string;
  sign(data: Uint8Array): Uint8Array;
}

/** A signer for an nkey user seed (checked by nkeys once: prefix, checksum, derived public key). */
export function nkeySigner(seed: Uint8Array): NkeySigner {
  const publicKey = nkeys.fromSeed(seed).getPublicKey();
  // Seed layout: 2 prefix bytes, the 32-byte ed25519 seed, a 2-byte CRC.
  const raw = base32(new TextDecoder().decode(seed)).subarray(2, 34);
  const key = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: b64url(raw), x: b64url(rawPublic(publicKey)) }, format: "jwk" });
  return { publicKey, sign: (data) => new Uint8Array(edSign(null, data, key)) };
}

function rawPublic(publicKey: string): Uint8Array {
  // Public layout: 1 prefix byte, the 32-byte key, a 2-byte CRC.
  return base32(publicKey).subarray(1, 33);
}

const publicKeys = new Map<string, KeyObject | null>();

/** Verifies an ed25519 signature by a public nkey; false on any malformed input. */
export function verifyByNkey(publicKey: string, data: Uint8Array, signature: Uint8Array): boolean {
  let key = publicKeys.get(publicKey);
  if (key === undefined) {
    try {
      nkeys.fromPublic(publicKey); // prefix and checksum
      key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(rawPublic(publicKey)) }, format: "jwk" });
    } catch {
      key = null;
    }
    if (publicKeys.size > 1000) publicKeys.clear();
    publicKeys.set(publicKey, key);
  }
  if (!key || signature.length !== 64) return false;
  try {
    return edVerify(null, data, key, signature);
  } catch {
    return false;
  }
}
