import { createHash } from "node:crypto";

/**
 * Any string as one NATS subject token (also a valid KV key segment). Subjects refuse `.`, `*`,
 * `>` and whitespace, KV keys everything outside `[-/=.\w]`, so: ASCII letters, digits and `-`
 * pass through, every other UTF-8 byte becomes `_XX` (hex), and the empty string is `=`.
 * Tokens longer than `MAX_TOKEN` become `=h<sha256>`: subjects must fit the server's 4 KiB
 * control line, and the full value is always stored in the message body, so nothing is lost.
 */
export const MAX_TOKEN = 200;

const PLAIN = /^[A-Za-z0-9-]+$/;
/** A UTF-16 surrogate without its pair: UTF-8 cannot carry it, so such strings are hashed. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function encodeToken(value: string): string {
  if (value === "") return "=";
  if (LONE_SURROGATE.test(value)) return "=h" + createHash("sha256").update(JSON.stringify(value), "utf8").digest("hex");
  let out: string;
  if (PLAIN.test(value)) {
    out = value;
  } else {
    out = "";
    for (const byte of Buffer.from(value, "utf8")) {
      const c = String.fromCharCode(byte);
      out += (byte < 0x80 && /[A-Za-z0-9-]/.test(c)) ? c : "_" + byte.toString(16).padStart(2, "0");
    }
  }
  if (out.length > MAX_TOKEN) return "=h" + createHash("sha256").update(value, "utf8").digest("hex");
  return out;
}

/** Inverse of `encodeToken`; undefined for hashed tokens (read the body instead). */
export function decodeToken(token: string): string | undefined {
  if (token === "=") return "";
  if (token.startsWith("=h")) return undefined;
  if (!token.includes("_")) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "_") {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
