import { spawnSync } from "node:child_process";
import {
  atLeast,
  checkGuestImage,
  checkKvm,
  checkModel,
  checkNatsServerBinary,
  checkNode,
  checkQemu,
  checkWallet,
  checkOwner,
  parseVersion,
  qemuVersionFrom,
  renderDoctorReport,
  summarize,
} from "../../src/cli/doctor/index.ts";
import { chooseModel } from "../../src/agent/model.ts";

function requireBinary(bin: string, pkg: string): void {
  const r = spawnSync(bin, ["--version"]);
  if (r.error) throw new Error(`${bin} is required by this test: sudo apt-get install ${pkg}`);
}

describe("versions", () => {
  it("parses and compares versions as the tools print them", () => {
    expect(parseVersion("nats-server: v2.9.10")).toEqual([2, 9, 10]);
    expect(parseVersion("7.2")).toEqual([7, 2, 0]);
    expect(parseVersion("none")).toBeUndefined();
    expect(atLeast("2.9.10", "2.9.10")).toBe(true);
    expect(atLeast("2.10.0", "2.9.10")).toBe(true);
    expect(atLeast("2.9.9", "2.9.10")).toBe(false);
    expect(atLeast("1.99.99", "2.0.0")).toBe(false);
    expect(atLeast("garbage", "2.0.0")).toBe(false);
    expect(qemuVersionFrom("QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright")).toBe("7.2.19");
    expect(qemuVersionFrom("something else 1.2.3")).toBeUndefined();
  });
});

describe("doctor checks", () => {
  it("node: current passes, old fails with a fix", async () => {
    expect((await checkNode()).status).toBe("ready");
    const old = await checkNode("18.19.0");
    expect(old).toMatchObject({ status: "missing", required: true });
    expect(old.fix).toMatch(/Node 20/);
  });

  it("nats-server binary: version gate, and optional when NATS_URL is set", async () => {
    expect(await checkNatsServerBinary("2.9.10", false)).toMatchObject({ status: "ready", detail: "v2.9.10", required: true });
    expect(await checkNatsServerBinary("2.9.9", false)).toMatchObject({ status: "missing" });
    const missing = await checkNatsServerBinary(undefined, false);
    expect(missing).toMatchObject({ status: "missing", required: true });
    expect(missing.fix).toMatch(/apt-get install nats-server/);
    expect(await checkNatsServerBinary(undefined, true)).toMatchObject({ status: "degraded", required: false });
  });

  it("qemu: the real binary is found; a missing one says how to install it", async () => {
    requireBinary("qemu-system-x86_64", "qemu-system-x86");
    const ok = await checkQemu("qemu-system-x86_64");
    expect(ok.status).toBe("ready");
    expect(ok.detail).toMatch(/^v\d+\.\d+/);
    const missing = await checkQemu("/nonexistent/qemu-system-x86_64");
    expect(missing).toMatchObject({ status: "missing", required: true });
    expect(missing.fix).toMatch(/qemu-system-x86/);
  });

  it("kvm: unusable is degraded (TCG), never a failure; a throwing probe is reported", async () => {
    expect(await checkKvm(async () => ({ usable: true, detail: "/dev/kvm" }))).toMatchObject({ status: "ready" });
    const tcg = await checkKvm(async () => ({ usable: false, detail: "PVM-only /dev/kvm" }));
    expect(tcg).toMatchObject({ status: "degraded", required: false });
    expect(tcg.detail).toMatch(/TCG/);
    const boom = await checkKvm(async () => {
      throw Object.assign(new Error("probe crashed"), { code: "PROBE" });
    });
    expect(boom).toMatchObject({ status: "missing", detail: "PROBE: probe crashed" });
  });

  it("guest image: missing points at `vibewriter image build`", async () => {
    const r = await checkGuestImage(async () => ({ ready: false, detail: "not built" }));
    expect(r).toMatchObject({ status: "missing", fix: "vibewriter image build", required: true });
  });

  it("model: says exactly what to set, and never prints a key", async () => {
    const none = await checkModel(async () => chooseModel({}));
    expect(none).toMatchObject({ status: "missing", required: false });
    expect(none.fix).toMatch(/ANTHROPIC_API_KEY/);
    const key = "sk-ant-secret-123456";
    const ok = await checkModel(async () => chooseModel({ ANTHROPIC_API_KEY: key }));
    expect(ok.status).toBe("ready");
    expect(ok.detail).toMatch(/^anthropic /);
    expect(JSON.stringify(ok)).not.toContain(key);
  });

  it("wallet: locked without a key; with one, names the variable and hides the value", async () => {
    const locked = await checkWallet({});
    expect(locked).toMatchObject({ status: "missing", required: false });
    expect(locked.fix).toMatch(/VIBEWRITER_WALLET_PASSPHRASE/);
    const secret = "correct horse battery staple";
    const ok = await checkWallet({ VIBEWRITER_WALLET_PASSPHRASE: secret });
    expect(ok.status).toBe("ready");
    expect(ok.detail).toMatch(/VIBEWRITER_WALLET_PASSPHRASE/);
    expect(JSON.stringify(ok)).not.toContain(secret);
  });

  it("owner: without a key approvals are impossible and the fix is `owner init`; with one, its public key", async () => {
    const none = await checkOwner(async () => undefined);
    expect(none).toMatchObject({ status: "missing", required: false });
    expect(none.fix).toMatch(/vibewriter owner init/);
    const key = "UAUGSQZ6CMU25XLNPOWJVFPJMNE2ULZHORI2V24OUU3OZVDOHUJEFMM5";
    expect(await checkOwner(async () => key)).toMatchObject({ status: "ready", detail: expect.stringContaining(key) });
  });

  it("summary fails only on a missing required check; the text names it and its fix", async () => {
    const checks = [
      await checkNode(),
      await checkWallet({}),
      await checkGuestImage(async () => ({ ready: false, detail: "not built" })),
    ];
    const report = summarize(checks);
    expect(report.ok).toBe(false);
    const text = renderDoctorReport(report);
    expect(text).toMatch(/\[MISS\] Guest image/);
    expect(text).toMatch(/fix: vibewriter image build/);
    expect(text).toMatch(/\[off \] Wallet/);
    expect(text).toMatch(/Not ready: Guest image/);
    expect(summarize(checks.slice(0, 2)).ok).toBe(true);
  });
});

describe("spending policy check", () => {
  it("absent: optional, every payment denied; malformed: the parser's message; valid: ready", async () => {
    const { checkPolicy } = await import("../../src/cli/doctor/index.ts");
    const { loadPolicyFile } = await import("../../src/wallet/policy.ts");
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(join(tmpdir(), "vw-policy-"));
    const absent = await checkPolicy(join(dir, "policy.yaml"), false, loadPolicyFile);
    expect(absent).toMatchObject({ status: "missing", required: false });
    expect(absent.detail).toMatch(/every payment is denied/);
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "version: 1\nassets: {}\n");
    const malformed = await checkPolicy(bad, true, loadPolicyFile);
    expect(malformed.status).toBe("missing");
    expect(malformed.detail).toMatch(/invalid spending policy/);
    const good = join(dir, "good.yaml");
    await writeFile(good, 'version: 1\ndelegation: { expiresAt: "2099-01-01T00:00:00Z" }\ndestinations: []\nassets: {}\n');
    expect(await checkPolicy(good, true, loadPolicyFile)).toMatchObject({ status: "ready", detail: good });
  });
});

describe("NATS durability check", () => {
  const finding = (serverVersion: string, embedded: boolean, syncAlways?: boolean) => ({
    url: "nats://127.0.0.1:4222",
    embedded,
    serverVersion,
    created: [],
    auth: embedded ? "nkey" : "none",
    anonymousAccepted: false,
    ...(syncAlways === undefined ? {} : { syncAlways }),
  });

  it("embedded 2.10 with sync_interval: always is ready and says so", async () => {
    const { checkNatsDurability } = await import("../../src/cli/doctor/index.ts");
    expect(await checkNatsDurability(finding("2.10.27", true, true))).toEqual({
      id: "nats-durability",
      title: "NATS durability",
      required: false,
      status: "ready",
      detail: "writes fsynced before each acknowledgement (nats-server 2.10.27, sync_interval: always)",
    });
  });

  it("embedded 2.9: fsync every 2 min, what a power loss costs, and the version that fixes it", async () => {
    const { checkNatsDurability } = await import("../../src/cli/doctor/index.ts");
    const r = await checkNatsDurability(finding("2.9.10", true, false));
    expect(r).toMatchObject({ status: "degraded", required: false });
    expect(r.detail).toBe(
      "fsync every 2 min (nats-server 2.9.10): a power loss can drop the last acknowledged writes; nats-server ≥ 2.10 syncs each write",
    );
    expect(r.fix).toMatch(/nats-server 2\.10 or newer.*NATS_SERVER_BIN/);
  });

  it("embedded 2.10 started without the setting (by an older Vibewriter): degraded until its next start", async () => {
    const { checkNatsDurability } = await import("../../src/cli/doctor/index.ts");
    const r = await checkNatsDurability(finding("2.10.27", true, false));
    expect(r).toMatchObject({ status: "degraded" });
    expect(r.detail).toMatch(/^fsync every 2 min \(nats-server 2\.10\.27, started without sync_interval: always\)/);
    expect(r.fix).toMatch(/next start/);
  });

  it("NATS_URL: the operator's config decides; the version says whether it can sync each write", async () => {
    const { checkNatsDurability } = await import("../../src/cli/doctor/index.ts");
    const modern = await checkNatsDurability(finding("2.12.1", false));
    expect(modern).toMatchObject({ status: "degraded", required: false });
    expect(modern.detail).toMatch(/^set by the server's operator \(NATS_URL, nats-server 2\.12\.1\).*sync_interval: always/);
    expect(modern.fix).toMatch(/jetstream \{ sync_interval: always \}/);
    const old = await checkNatsDurability(finding("2.9.10", false));
    expect(old.detail).toMatch(/^fsync every 2 min \(NATS_URL, nats-server 2\.9\.10\).*nats-server ≥ 2\.10 can sync each write/);
    expect(old.fix).toMatch(/2\.10 or newer/);
  });

  it("NATS did not open: not checked, not a failure", async () => {
    const { checkNatsDurability } = await import("../../src/cli/doctor/index.ts");
    expect(await checkNatsDurability(undefined)).toMatchObject({ status: "missing", required: false, detail: expect.stringMatching(/not checked/) });
  });
});
