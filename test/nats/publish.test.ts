import { AckedPublisher, publishAcked, type AckedPublishOptions, type AckedPublishResult } from "../../src/nats/publish.ts";
import { NatsBackboneError, NatsErrorCode } from "../../src/nats/errors.ts";
import { decodeToken, encodeToken, MAX_TOKEN } from "../../src/nats/subject-token.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";
import { Names } from "../../src/nats/streams.ts";

describe("subject tokens", () => {
  it("round-trips any string into one subject token of safe characters", () => {
    for (const s of ["", "plain-id", "a.b*c>d e", "_5f", "=", "ü🦜", "\n\t", "x".repeat(MAX_TOKEN / 3)]) {
      const token = encodeToken(s);
      expect(token).toMatch(/^[A-Za-z0-9_=-]+$/);
      expect(decodeToken(token)).toBe(s);
    }
    expect(encodeToken("a.b")).not.toBe(encodeToken("a_2eb"));
    const long = encodeToken("y".repeat(10_000));
    expect(long.length).toBeLessThanOrEqual(MAX_TOKEN);
    expect(decodeToken(long)).toBeUndefined(); // hashed: the full value lives in the message body
    // Lone surrogates do not survive UTF-8: two such ids must still get different tokens.
    expect(encodeToken("a\ud800")).not.toBe(encodeToken("a\udbff"));
    expect(encodeToken("a\ud800")).toMatch(/^=h[0-9a-f]{64}$/);
  });
});

type Publish = (t: TestNats, subject: string, data: Uint8Array, opts?: AckedPublishOptions) => Promise<AckedPublishResult>;
const publishers: [string, Publish][] = [
  ["publishAcked", (t, subject, data, opts) => publishAcked(t.backbone.js, subject, data, opts)],
  ["AckedPublisher", (t, subject, data, opts) => new AckedPublisher(t.backbone.nc).publish(subject, data, opts)],
];

describe.each(publishers)("%s", (name, publish) => {
  let t: TestNats;
  beforeAll(async () => {
    t = await startTestNats();
  });
  afterAll(async () => {
    await t.close();
  });

  it("a retry with the same msgID after a lost ack is stored once", async () => {
    const { js, jsm } = t.backbone;
    const data = new TextEncoder().encode("event");
    // First attempt reached the server (its ack is what got lost)…
    await js.publish(`${Names.eventsSubjectPrefix}.dedup.run_started`, data, { msgID: `same-id-${name}` });
    const before = (await jsm.streams.info(Names.eventsStream)).state.messages;
    // …so the retry is recognised as a duplicate.
    const r = await publish(t, `${Names.eventsSubjectPrefix}.dedup.run_started`, data, { msgID: `same-id-${name}` });
    expect(r.stored && r.ack.duplicate).toBe(true);
    expect((await jsm.streams.info(Names.eventsStream)).state.messages).toBe(before);
  });

  it("first-write-wins publishes report an existing subject instead of failing", async () => {
    const a = await publish(t, `${Names.stateSubjectPrefix}.fww.${name}`, new Uint8Array([1]), { ifAbsent: true });
    const b = await publish(t, `${Names.stateSubjectPrefix}.fww.${name}`, new Uint8Array([2]), { ifAbsent: true });
    expect(a.stored).toBe(true);
    expect(b).toEqual({ stored: false, reason: "exists" });
  });

  it("fails with write_failed when no stream takes the subject and the deadline passes", async () => {
    const err = await publish(t, "nowhere.at.all", new Uint8Array([1]), { deadlineMs: 300, ackTimeoutMs: 100 }).catch((e: unknown) => e);
    expect(NatsBackboneError.isInstance(err, NatsErrorCode.WriteFailed)).toBe(true);
  });
});

describe("AckedPublisher on a closed connection", () => {
  it("fails at once with write_failed (nothing to retry on)", async () => {
    const t = await startTestNats();
    try {
      const { connectNats } = await import("../../src/nats/connection.ts");
      const nc = await connectNats({ url: t.server.url, name: "closing" });
      const publisher = new AckedPublisher(nc);
      expect((await publisher.publish(`${Names.stateSubjectPrefix}.closed.a`, new Uint8Array([1]))).stored).toBe(true);
      await nc.close();
      const err = await publisher.publish(`${Names.stateSubjectPrefix}.closed.b`, new Uint8Array([1])).catch((e: unknown) => e);
      expect(NatsBackboneError.isInstance(err, NatsErrorCode.WriteFailed)).toBe(true);
      expect((err as Error).message).toContain("after 1 attempt(s)");
    } finally {
      await t.close();
    }
  });
});
