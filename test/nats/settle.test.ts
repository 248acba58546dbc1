import { describe, expect, it } from "vitest";
import { errors } from "@nats-io/transport-node";
import { createWhileSettling } from "../../src/nats/settle.ts";

describe("createWhileSettling", () => {
  it("asks again while the cluster does not answer, then returns what the creation made", async () => {
    let calls = 0;
    const made = await createWhileSettling(async () => {
      if (++calls < 3) throw new errors.TimeoutError();
      return "bucket";
    });
    expect(made).toBe("bucket");
    expect(calls).toBe(3);
  });

  it("does not retry a refusal that is not a race", async () => {
    let calls = 0;
    const refused = new Error("insufficient resources");
    await expect(
      createWhileSettling(async () => {
        calls++;
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it("gives up after its settling time with the cluster's last answer", async () => {
    let calls = 0;
    await expect(
      createWhileSettling(async () => {
        calls++;
        throw new errors.TimeoutError();
      }, 250),
    ).rejects.toBeInstanceOf(errors.TimeoutError);
    expect(calls).toBeGreaterThan(1);
  });
});
