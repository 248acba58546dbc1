import { AuditLedger, LedgerNames } from "../../src/wallet/ledger.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";

describe("vibewriter ledger verify", () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats?.close();
  });

  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url });

  it("an empty ledger is intact", async () => {
    const io = captureIo(env());
    expect(await main(["ledger", "verify"], io)).toBe(0);
    expect(io.out()).toMatch(/^ledger intact: 0 entries/);
  });

  it("reports an intact chain, then exits 1 and names the altered entry", async () => {
    const ledger = await AuditLedger.open(nats.backbone);
    await ledger.append("proposal", "p-1", { amount: "5", destination: "GABC" });
    await ledger.append("decision", "p-1", { decision: "allow" });
    const io = captureIo(env());
    expect(await main(["ledger", "verify", "--json"], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ ok: true, entries: 2, problems: [] });

    // A forged entry: content changed after hashing (as an attacker with publish rights could do).
    const [first] = await ledger.entries();
    const forged = { ...first!, index: 2, data: { amount: "5000", destination: "GEVIL" } };
    await nats.backbone.js.publish(LedgerNames.subject, JSON.stringify(forged));

    const io2 = captureIo(env());
    expect(await main(["ledger", "verify"], io2)).toBe(1);
    expect(io2.out()).toMatch(/^ledger BROKEN: \d+ problem\(s\) in/);
    expect(io2.out()).toMatch(/seq 3: altered/);
  });
});
