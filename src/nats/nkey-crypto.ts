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

/** A signer for an nkey user seed (prefix and checksum checked; public key derived natively). */
export function nkeySigner(seed: Uint8Array): NkeySigner {
  const { raw, publicKey, rawPublicKey } = decodeUserSeed(seed);
  const key = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: b64url(raw), x: b64url(rawPublicKey) }, format: "jwk" });
  return { publicKey, sign: (data) => new Uint8Array(edSign(null, data, key)) };
}

/**
 * The public nkey (`U…`) of a user seed (`SU…`). nkeys derives it in plain JavaScript (~50 ms
 * under load, and every command derives three before it can start nats-server); node's ed25519
 * does it in microseconds. Throws on a malformed seed (prefix, length or checksum).
 */
export function publicKeyOfUserSeed(seed: Uint8Array): string {
  return decodeUserSeed(seed).publicKey;
}

/** Prefix bytes (nkeys): seed "S" = 18 << 3, user "U" = 20 << 3. */
const SEED_PREFIX = 18 << 3;
const USER_PREFIX = 20 << 3;
/** PKCS#8 wrapping of a raw 32-byte ed25519 private key (RFC 8410). */
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");

function decodeUserSeed(seed: Uint8Array): { raw: Uint8Array; publicKey: string; rawPublicKey: Uint8Array } {
  // Seed layout: 2 prefix bytes, the 32-byte ed25519 seed, a 2-byte CRC (little-endian).
  const bytes = base32(new TextDecoder().decode(seed).trim());
  if (bytes.length !== 36) throw new Error("not an nkey seed: wrong length");
  if (crc16(bytes.subarray(0, 34)) !== (bytes[34]! | (bytes[35]! << 8))) throw new Error("not an nkey seed: bad checksum");
  if ((bytes[0]! & 0xf8) !== SEED_PREFIX || (((bytes[0]! & 7) << 5) | ((bytes[1]! & 0xf8) >> 3)) !== USER_PREFIX) {
    throw new Error("not an nkey user seed");
  }
  const raw = bytes.subarray(2, 34);
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, raw]), format: "der", type: "pkcs8" });
  const rawPublicKey = Buffer.from(createPublicKey(priv).export({ format: "jwk" }).x!, "base64url");
  const body = Uint8Array.from([USER_PREFIX, ...rawPublicKey]);
  const crc = crc16(body);
  return { raw, publicKey: encodeBase32(Uint8Array.from([...body, crc & 0xff, crc >> 8])), rawPublicKey };
}

/** CRC-16/XMODEM, the nkeys checksum. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function encodeBase32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= 0xff; // only the unread bits matter
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
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
