/** The fleet's two timing settings, read where the CLI composes its parts: a bad value is refused, never clamped. */
import { ackWaitMsFromEnv } from "../../src/cli/commands/worker.ts";
import { defaultLeaseTtlMs, leaseTtlMsFromEnv } from "../../src/cli/run-lease.ts";

describe("fleet timing settings", () => {
  it("VIBEWRITER_LEASE_TTL_SEC: seconds (fractions allowed), default left to the lease table", () => {
    expect(leaseTtlMsFromEnv({})).toBeUndefined();
    expect(leaseTtlMsFromEnv({ VIBEWRITER_LEASE_TTL_SEC: "20" })).toBe(20_000);
    expect(leaseTtlMsFromEnv({ VIBEWRITER_LEASE_TTL_SEC: " 1.5 " })).toBe(1_500);
    for (const bad of ["0", "0.1", "-3", "abc", "1e3", "7200"]) {
      expect(() => leaseTtlMsFromEnv({ VIBEWRITER_LEASE_TTL_SEC: bad }), bad).toThrow(/VIBEWRITER_LEASE_TTL_SEC=.* must be a number of seconds from 0.5 to 3600/);
    }
  });

  it("without it: 6 s on an operator's NATS, 30 s on the embedded server (a dead runner there is taken over by its pid)", () => {
    for (const auth of ["creds", "user", "token", "none"] as const) expect(defaultLeaseTtlMs(auth)).toBe(6_000);
    expect(defaultLeaseTtlMs("nkey")).toBe(30_000);
  });

  it("VIBEWRITER_RUN_ACK_WAIT_SEC: whole seconds from 2 to 3600", () => {
    expect(ackWaitMsFromEnv({})).toBeUndefined();
    expect(ackWaitMsFromEnv({ VIBEWRITER_RUN_ACK_WAIT_SEC: "90" })).toBe(90_000);
    for (const bad of ["1", "2.5", "x", "4000"]) {
      expect(() => ackWaitMsFromEnv({ VIBEWRITER_RUN_ACK_WAIT_SEC: bad }), bad).toThrow(/VIBEWRITER_RUN_ACK_WAIT_SEC=.* whole number of seconds from 2 to 3600/);
    }
  });
});
