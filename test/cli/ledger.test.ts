import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nkeys } from "@nats-io/transport-node";
import { loadTrust, runtimeLedger } from "../../src/app/trust.ts";
import { AuditLedger } from "../../src/wallet/ledger.ts";
import { Names } from "../../src/nats/streams.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";

describe("vibewriter ledger verify", () => {
  let nats: TestNats;
  let state: string;
  beforeAll(async () => {
    nats = await startTestNats();
    state = await mkdtemp(join(tmpdir(), "vw-ledger-cli-"));
  });
  afterAll(async () => {
    await nats?.close();
    await rm(state, { recursive: true, force: true });
  });

  const env = () => ({ PATH: process.env.PATH, NATS_URL: nats.server.url, VIBEWRITER_STATE_DIR: state });

  it("an empty ledger is intact", async () => {
    const io = captureIo(env());
    expect(await main(["ledger", "verify"], io)).toBe(0);
    expect(io.out()).toMatch(/^ledger intact: 0 entries/);
  });

  it("reports an intact chain, then exits 1 and names the altered entry", async () => {
    // The runtime's ledger: entries signed by its identity key, head anchored in the state dir.
    const ledger = await AuditLedger.open(nats.backbone, await runtimeLedger(env(), await loadTrust(env())));
    await ledger.append("proposal", "p-1", { amount: "5", destination: "GABC" });
    await ledger.append("proposal", "p-2", { amount: "6", destination: "GABC" });
    const io = captureIo(env());
    expect(await main(["ledger", "verify", "--json"], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ ok: true, entries: 2, problems: [], anchor: { index: 1 } });

    // A forged entry: content changed after hashing (as an attacker with publish rights could do).
    const [first] = await ledger.entries();
    const forged = { ...first!, index: 2, data: { amount: "5000", destination: "GEVIL" } };
    await nats.backbone.js.publish(Names.ledgerSubject, JSON.stringify(forged));

    const io2 = captureIo(env());
    expect(await main(["ledger", "verify"], io2)).toBe(1);
    expect(io2.out()).toMatch(/^ledger BROKEN: \d+ problem\(s\) in/);
    expect(io2.out()).toMatch(/seq 3: altered/);
  });

  it("an entry chained and hashed correctly but signed by a stranger's key is named", async () => {
    const stranger = nkeys.createUser();
    const strangers = await AuditLedger.open(nats.backbone, { stream: "TEST_LEDGER_STRANGER", subject: "test.ledger.stranger", signer: { publicKey: stranger.getPublicKey(), sign: (d) => stranger.sign(d) } });
    await strangers.append("decision", "p-9", { outcome: "allow" });
    const trust = await loadTrust(env());
    const checked = await AuditLedger.open(nats.backbone, { stream: "TEST_LEDGER_STRANGER", subject: "test.ledger.stranger", trusted: trust.trusted });
    const result = await checked.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ kind: "unsigned", detail: expect.stringContaining(`signed by ${stranger.getPublicKey()}`) })]);
  });
});
