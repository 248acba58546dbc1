import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";

/**
 * An HTTP(S) GET for the model's `fetch_url`, which runs on the host: the model must not be able to
 * reach the host's own services (NATS on loopback, cloud metadata, the LAN) through it. Every
 * address a name resolves to is checked in the socket's own lookup — the address that is checked is
 * the address that is connected to, so DNS rebinding cannot slip past — and every redirect hop is
 * checked again. The body is streamed and cut off at `maxBytes`.
 */
export interface GuardedFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Allow loopback and private ranges (a local intranet, tests). Off by default. */
  allowPrivateAddresses?: boolean;
  maxRedirects?: number;
}

export type GuardedFetchResult =
  | { ok: true; status: number; contentType: string; bytes: Uint8Array; finalUrl: string }
  | { ok: false; error: string };

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16],
  ["172.16.0.0", 12], ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 3],
] as const) blocked.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["64:ff9b::", 96],
] as const) blocked.addSubnet(net, bits, "ipv6");

/** True for loopback, private, link-local, CGNAT, multicast and unspecified addresses (v4, v6, v4-mapped). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, "ipv4");
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse
  return blocked.check(address, family === 4 ? "ipv4" : "ipv6");
}

function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, "", 4);
      const bad = allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (bad) {
        const e = Object.assign(new Error(`${hostname} resolves to ${bad.address}, a private or local address`), { code: "EPRIVATE" });
        return callback(e, "", 4);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

export async function guardedFetch(url: string, opts: GuardedFetchOptions): Promise<GuardedFetchResult> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    return { ok: false, error: `"${url}" is not a URL` };
  }
  const maxRedirects = opts.maxRedirects ?? 5;
  for (let hop = 0; ; hop++) {
    if (current.protocol !== "https:" && current.protocol !== "http:") return { ok: false, error: "only http and https URLs can be fetched" };
    if (current.username || current.password) return { ok: false, error: "URLs with credentials are refused" };
    // A literal IP never goes through lookup: check it here.
    const host = current.hostname.replace(/^\[|\]$/g, "");
    if (!opts.allowPrivateAddresses && isIP(host) && isPrivateAddress(host)) {
      return { ok: false, error: `${current.hostname} is a private or local address` };
    }
    const res = await get(current, opts).catch((err: Error) => ({ error: err.message }));
    if ("error" in res) return { ok: false, error: `could not fetch ${current.href}: ${res.error}` };
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= maxRedirects) return { ok: false, error: `too many redirects from ${url}` };
      current = new URL(res.headers.location, current);
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      return { ok: false, error: `${current.href} answered HTTP ${status}` };
    }
    const declared = Number(res.headers["content-length"] ?? "0");
    if (declared > opts.maxBytes) {
      res.destroy();
      return { ok: false, error: `${current.href} is too large (${declared} bytes; the limit is ${opts.maxBytes})` };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > opts.maxBytes) {
          res.destroy();
          return { ok: false, error: `${current.href} is too large (more than ${opts.maxBytes} bytes)` };
        }
        chunks.push(chunk);
      }
    } catch (err) {
      return { ok: false, error: `could not read ${current.href}: ${(err as Error).message}` };
    }
    return { ok: true, status, contentType: String(res.headers["content-type"] ?? ""), bytes: new Uint8Array(Buffer.concat(chunks)), finalUrl: current.href };
  }
}

function get(url: URL, opts: GuardedFetchOptions): Promise<IncomingMessage> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "GET",
      lookup: guardedLookup(opts.allowPrivateAddresses === true),
      signal: AbortSignal.timeout(opts.timeoutMs), // the whole exchange, not just idle time
      headers: { "user-agent": "vibewriter-fetch/1", accept: "text/html,text/plain,text/markdown,application/pdf;q=0.9,*/*;q=0.1" },
    });
    req.on("response", resolve);
    req.on("error", reject);
    req.end();
  });
}
