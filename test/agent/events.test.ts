import { redactSecrets, summarise } from "../../src/agent/events.ts";

describe("event summaries", () => {
  it("clip long strings and redact secret-shaped values", () => {
    const seed = `S${"A".repeat(55)}`;
    expect(redactSecrets(`key ${seed} and sk-ant-abcdefghijklmnopqrstuv end`)).toBe("key [redacted] and [redacted] end");
    const s = summarise({ a: "x".repeat(1000), nested: { seed }, list: [seed] }) as { a: string; nested: { seed: string }; list: string[] };
    expect(s.a).toMatch(/… \(1000 chars\)$/);
    expect(s.a.length).toBeLessThan(450);
    expect(s.nested.seed).toBe("[redacted]");
    expect(s.list).toEqual(["[redacted]"]);
    // A public key (G…) is not a secret.
    const pub = `G${"B".repeat(55)}`;
    expect(redactSecrets(pub)).toBe(pub);
  });
});
