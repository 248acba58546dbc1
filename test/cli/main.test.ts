import { main } from "../../src/cli/main.ts";
import { captureIo } from "./capture.ts";

describe("the runner", () => {
  it("prints help and the version with exit 0", async () => {
    const io = captureIo({});
    expect(await main([], io)).toBe(0);
    expect(io.out()).toMatch(/^vibewriter — /);
    const v = captureIo({});
    expect(await main(["--version"], v)).toBe(0);
    expect(v.out()).toMatch(/^vibewriter \d+\.\d+\.\d+\n$/);
    const h = captureIo({});
    expect(await main(["events", "--help"], h)).toBe(0);
    expect(h.out()).toMatch(/^Usage: vibewriter events ID \[--follow\]/);
  });

  it("prints a usage error once, on stderr, with the fix, and exits 2", async () => {
    const io = captureIo({});
    expect(await main(["frobnicate"], io)).toBe(2);
    expect(io.out()).toBe("");
    expect(io.err()).toBe('vibewriter: Unknown command "frobnicate".\n  Run `vibewriter --help` for usage.\n');
  });

  it("with --json, errors are one JSON document on stdout", async () => {
    const io = captureIo({});
    expect(await main(["show", "--json"], io)).toBe(2);
    expect(io.err()).toBe("");
    expect(JSON.parse(io.out())).toEqual({
      ok: false,
      error: { code: "usage", message: "`show` needs a thread id.", fix: "Run `vibewriter show --help` for usage." },
    });
  });

  it("run without a model says exactly what to set, before touching NATS", async () => {
    // NATS_URL points nowhere: if `run` connected first, the error would be about NATS.
    const io = captureIo({ PATH: process.env.PATH, NATS_URL: "nats://127.0.0.1:1" });
    expect(await main(["run", "Assess ACME"], io)).toBe(1);
    expect(io.err()).toMatch(/^vibewriter: No model is configured\.\nSet one of:\n {2}ANTHROPIC_API_KEY=/);
    expect(io.err()).toMatch(/vibewriter demo/);
    const j = captureIo({ PATH: process.env.PATH, NATS_URL: "nats://127.0.0.1:1" });
    await main(["run", "x", "--json"], j);
    expect(JSON.parse(j.out()).error).toMatchObject({ code: "not_configured", causeCode: "model_not_configured" });
  });

  it("an unknown scripted model name is refused with the allowed one", async () => {
    const io = captureIo({ VIBEWRITER_SCRIPTED_MODEL: "gpt-7", NATS_URL: "nats://127.0.0.1:1" });
    expect(await main(["run", "x"], io)).toBe(1);
    expect(io.err()).toMatch(/VIBEWRITER_SCRIPTED_MODEL="gpt-7" is not a scripted model/);
    expect(io.err()).toMatch(/VIBEWRITER_SCRIPTED_MODEL=demo/);
  });

  it("a secret in an error message is redacted", async () => {
    const secret = "sk-this-is-a-secret-9999";
    // A model spec that echoes the env value back in the agent's error message.
    const io = captureIo({ VIBEWRITER_MODEL: secret, OPENAI_API_KEY: secret, NATS_URL: "nats://127.0.0.1:1" });
    await main(["run", "x"], io);
    expect(io.err()).toMatch(/VIBEWRITER_MODEL="\[redacted\]"/);
    expect(io.err()).not.toContain(secret);
  });
});
