import { Keypair } from "@stellar/stellar-sdk";
import { parseStellarAddress } from "../../src/wallet/address.ts";
import { formatAmount, parseAmount } from "../../src/wallet/amount.ts";
import { WalletError } from "../../src/wallet/errors.ts";
import { parseMemo } from "../../src/wallet/memo.ts";

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return WalletError.isInstance(e) ? e.code : `non-wallet error: ${String(e)}`;
  }
  return undefined;
};

describe("amounts from the model", () => {
  it("parses plain decimals exactly into stroops", () => {
    expect(parseAmount("1")).toBe(10_000_000n);
    expect(parseAmount("0.0000001")).toBe(1n);
    expect(parseAmount("12.5")).toBe(125_000_000n);
    expect(parseAmount("922337203685.4775807")).toBe(9_223_372_036_854_775_807n);
    expect(formatAmount(parseAmount("12.5000000"))).toBe("12.5");
    // 0.1 + 0.2 style float error cannot happen: bigint arithmetic.
    expect(parseAmount("0.1") + parseAmount("0.2")).toBe(parseAmount("0.3"));
  });

  it.each([
    ["-5"], ["-0.0000001"], ["0"], ["0.0"], ["1e3"], ["1E-7"], [" 10"], ["10 "], ["+10"], ["0x10"], ["10.00000001"],
    ["Infinity"], ["NaN"], [""], ["1,000"], ["١٠"], ["010"], [".5"], ["5."], ["922337203685.4775808"], ["ten"],
  ])("refuses %j", (text) => {
    expect(codeOf(() => parseAmount(text))).toBe("invalid_amount");
  });

  it("refuses JS numbers (floats) and other types", () => {
    expect(codeOf(() => parseAmount(10))).toBe("invalid_amount");
    expect(codeOf(() => parseAmount(10n))).toBe("invalid_amount");
    expect(codeOf(() => parseAmount(null))).toBe("invalid_amount");
  });
});

/** The address with its first letter after the leading G lower-cased (digits have no case). */
function lowerOne(address: string): string {
  const i = address.slice(1).search(/[A-Z]/) + 1;
  return address.slice(0, i) + address[i].toLowerCase() + address.slice(i + 1);
}

describe("destinations from the model", () => {
  const real = Keypair.random().publicKey();

  it("accepts an exact account id", () => {
    expect(parseStellarAddress(real)).toBe(real);
  });

  it.each([
    ["leading space", ` ${real}`],
    ["trailing newline", `${real}\n`],
    ["lower case", real.toLowerCase()],
    ["one lower-case letter", lowerOne(real)],
    ["zero-width space", real.slice(0, 20) + "\u200b" + real.slice(20)],
    ["full-width letters", real.replace(/G/, "\uff27")],
  ])("refuses a destination disguised with %s, and says it is disguised", (_label, text) => {
    let err: unknown;
    try {
      parseStellarAddress(text);
    } catch (e) {
      err = e;
    }
    expect(WalletError.isInstance(err) && err.code).toBe("invalid_address");
    expect((err as Error).message).toMatch(/not an exact Stellar address/);
  });

  it("refuses a wrong checksum, a secret seed and a muxed address", () => {
    const flipped = real.slice(0, 55) + (real[55] === "A" ? "B" : "A");
    expect(codeOf(() => parseStellarAddress(flipped))).toBe("invalid_address");
    expect(codeOf(() => parseStellarAddress(Keypair.random().secret()))).toBe("invalid_address");
    expect(codeOf(() => parseStellarAddress("M" + real.slice(1)))).toBe("invalid_address");
  });

  it("never echoes a secret seed passed as a destination", () => {
    const seed = Keypair.random().secret();
    for (const text of [seed, ` ${seed} `, seed.toLowerCase(), `pay ${seed.slice(0, 30)} ${seed.slice(30)}`]) {
      let message = "";
      try {
        parseStellarAddress(text);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/looks like a secret seed/);
      expect(message.toUpperCase()).not.toContain(seed.slice(1, 20));
    }
  });
});

describe("memos", () => {
  it("accepts short text and refuses control characters and long text", () => {
    expect(parseMemo("invoice 42")).toBe("invoice 42");
    expect(parseMemo(undefined)).toBeUndefined();
    expect(codeOf(() => parseMemo("approved\nby owner"))).toBe("invalid_memo");
    expect(codeOf(() => parseMemo("x".repeat(29)))).toBe("invalid_memo");
    expect(codeOf(() => parseMemo(42))).toBe("invalid_memo");
  });
});
