import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { guardedFetch, isPrivateAddress } from "../../src/agent/tools/guarded-fetch.ts";

describe("isPrivateAddress", () => {
  it("flags loopback, private, link-local, CGNAT, multicast, unspecified and v4-mapped forms", () => {
    for (const a of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "not-an-ip"]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
  });
  it("lets public addresses through", () => {
    for (const a of ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) expect(isPrivateAddress(a), a).toBe(false);
  });
});

describe("guardedFetch against a real local server", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/big") {
        // No content-length: the cap must hold while streaming.
        res.writeHead(200, { "content-type": "text/plain" });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(1024, 97));
        res.end();
      } else if (req.url === "/hop") {
        res.writeHead(302, { location: "/ok" }).end();
      } else if (req.url === "/loop") {
        res.writeHead(302, { location: "/loop" }).end();
      } else {
        res.writeHead(200, { "content-type": "text/plain" }).end("fine");
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it("refuses a name that resolves to loopback, checked at connect time", async () => {
    const r = await guardedFetch(base.replace("127.0.0.1", "localhost") + "/ok", { maxBytes: 1000, timeoutMs: 5000 });
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1), a private or local address/) });
  });

  it("with private addresses allowed: follows redirects, cuts off a body over the cap, stops a redirect loop", async () => {
    const opts = { maxBytes: 10_000, timeoutMs: 5000, allowPrivateAddresses: true };
    const hop = await guardedFetch(`${base}/hop`, opts);
    expect(hop.ok && new TextDecoder().decode(hop.bytes)).toBe("fine");
    expect(hop.ok && hop.finalUrl).toBe(`${base}/ok`);
    expect(await guardedFetch(`${base}/big`, opts)).toEqual({ ok: false, error: expect.stringMatching(/too large \(more than 10000 bytes\)/) });
    expect(await guardedFetch(`${base}/loop`, opts)).toEqual({ ok: false, error: expect.stringMatching(/too many redirects/) });
  });
});
