import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FeeBumpTransaction, Keypair, TransactionBuilder } from "@stellar/stellar-sdk";

/**
 * A Horizon stand-in on loopback (this machine has no network): `GET /accounts/:id` and
 * `POST /transactions`. It checks what a validator checks for a payment — the envelope parses for
 * the network, the source account's signature verifies, the sequence is the next one — and
 * advances the sequence, so a second submission of the same transaction is refused (tx_bad_seq).
 */
export interface HorizonStandIn {
  url: string;
  accounts: Map<string, bigint>;
  /** Hashes of accepted transactions, in order. */
  accepted: string[];
  close(): Promise<void>;
}

export async function startHorizonStandIn(networkPassphrase: string): Promise<HorizonStandIn> {
  const accounts = new Map<string, bigint>();
  const accepted: string[] = [];
  let ledger = 1000;
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/hal+json" });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "http://x");
    const acc = /^\/accounts\/(G[A-Z2-7]{55})$/.exec(url.pathname);
    if (req.method === "GET" && acc) {
      const seq = accounts.get(acc[1]);
      if (seq === undefined) return send(404, { status: 404, title: "Resource Missing" });
      return send(200, { id: acc[1], account_id: acc[1], sequence: seq.toString(), balances: [], signers: [], data: {}, thresholds: {}, flags: {} });
    }
    if (req.method === "POST" && url.pathname === "/transactions") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const xdr = new URLSearchParams(body).get("tx") ?? "";
        const fail = (code: string) => send(400, { status: 400, title: "Transaction Failed", extras: { result_codes: { transaction: code } } });
        let tx;
        try {
          tx = TransactionBuilder.fromXDR(xdr, networkPassphrase);
        } catch {
          return fail("tx_malformed");
        }
        if (tx instanceof FeeBumpTransaction) return fail("tx_not_supported");
        const seq = accounts.get(tx.source);
        if (seq === undefined) return fail("tx_no_account");
        const signedBySource = tx.signatures.some((s) => Keypair.fromPublicKey(tx.source).verify(tx.hash(), s.signature()));
        if (!signedBySource) return fail("tx_bad_auth");
        if (BigInt(tx.sequence) !== seq + 1n) return fail("tx_bad_seq");
        accounts.set(tx.source, seq + 1n);
        const hash = tx.hash().toString("hex");
        accepted.push(hash);
        send(200, { hash, ledger: ++ledger, successful: true, envelope_xdr: xdr });
      });
      return;
    }
    send(404, { status: 404 });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accounts,
    accepted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
