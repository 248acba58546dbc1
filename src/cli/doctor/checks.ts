/**
 * The doctor's checks, one small function each. Each takes what it inspects as a parameter (a
 * version string, an environment, a probe from the component that owns the thing), so tests run
 * them against real binaries and a real nats-server with controlled inputs.
 */
import { execFile } from "node:child_process";
import { childEnv } from "../../config/index.ts";
import { NatsBackboneError, NatsErrorCode, supportsSyncAlways, SYNC_ALWAYS_SINCE } from "../../nats/index.ts";
import { WalletEnv } from "../../wallet/index.ts";
import { CheckStatus, guard, type CheckResult } from "./check.ts";
import { EndpointVerdict, type ModelEndpointFinding } from "./model-endpoint.ts";
import { atLeast, qemuVersionFrom } from "./versions.ts";

export const MIN_NODE = "20.0.0";
export const MIN_NATS_SERVER = "2.9.10";
export const MIN_QEMU = "7.2.0";

/** Node running this process. */
export function checkNode(version: string = process.versions.node): Promise<CheckResult> {
  return guard({ id: "node", title: "Node.js", required: true }, async () =>
    atLeast(version, MIN_NODE)
      ? { status: CheckStatus.Ready, detail: `v${version}` }
      : { status: CheckStatus.Missing, detail: `v${version} is older than ${MIN_NODE}`, fix: "Install Node 20 or newer." },
  );
}

/**
 * The `nats-server` binary (needed for the embedded server; with NATS_URL the connected server's
 * version is checked instead, by `checkNats`). `version` is what the binary reported, undefined
 * when it is not installed.
 */
export function checkNatsServerBinary(version: string | undefined, usingNatsUrl: boolean): Promise<CheckResult> {
  const fix = "sudo apt-get install nats-server   (Debian/Ubuntu; or run scripts/setup.sh)";
  return guard({ id: "nats-server", title: "nats-server binary", required: !usingNatsUrl }, async () => {
    if (version === undefined) {
      return usingNatsUrl
        ? { status: CheckStatus.Degraded, detail: "not installed (not needed: NATS_URL is set)", fix }
        : { status: CheckStatus.Missing, detail: "not found on PATH, in /usr/sbin or at NATS_SERVER_BIN", fix };
    }
    if (!atLeast(version, MIN_NATS_SERVER)) {
      return { status: CheckStatus.Missing, detail: `v${version} is older than ${MIN_NATS_SERVER}`, fix };
    }
    return { status: CheckStatus.Ready, detail: `v${version}` };
  });
}

/** Runs a binary with `--version`; resolves its stdout, or undefined when it cannot run. */
export function binaryVersionOutput(bin: string, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(bin, ["--version"], { env: childEnv(), timeout: timeoutMs, encoding: "utf8" }, (err, stdout) => {
      resolve(err ? undefined : stdout);
    });
  });
}

/** QEMU, which runs the microVMs. */
export function checkQemu(bin = process.env.VIBEWRITER_QEMU ?? "qemu-system-x86_64"): Promise<CheckResult> {
  const fix = "sudo apt-get install qemu-system-x86   (or run scripts/setup.sh)";
  return guard({ id: "qemu", title: "QEMU (microVMs)", required: true }, async () => {
    const out = await binaryVersionOutput(bin);
    if (out === undefined) return { status: CheckStatus.Missing, detail: `${bin} not found or does not run`, fix };
    const version = qemuVersionFrom(out);
    if (!version) return { status: CheckStatus.Missing, detail: `${bin} printed no QEMU version`, fix };
    if (!atLeast(version, MIN_QEMU)) {
      return { status: CheckStatus.Missing, detail: `v${version} is older than ${MIN_QEMU} (needs -M microvm)`, fix };
    }
    return { status: CheckStatus.Ready, detail: `v${version} (${bin})` };
  });
}

/** What a KVM probe found: whether VMs can use hardware acceleration, and why not. */
export interface KvmFinding {
  usable: boolean;
  detail: string;
}

/**
 * Hardware acceleration. Never required: without it VMs run under TCG (10–20× slower), so the
 * result is "degraded", with what would fix it.
 */
export function checkKvm(probe: () => Promise<KvmFinding>): Promise<CheckResult> {
  return guard({ id: "kvm", title: "KVM acceleration", required: false }, async () => {
    const found = await probe();
    return found.usable
      ? { status: CheckStatus.Ready, detail: found.detail }
      : {
          status: CheckStatus.Degraded,
          detail: `${found.detail}; VMs run under TCG (software emulation, slower)`,
          fix: "Run on a host with hardware virtualisation (vmx/svm) and read/write access to /dev/kvm (group kvm).",
        };
  });
}

/** What the image builder reports about the guest image. */
export interface ImageFinding {
  ready: boolean;
  detail: string;
}

/** The microVM guest image (kernel, initramfs, root filesystem with the guest agent). */
export function checkGuestImage(probe: () => Promise<ImageFinding>): Promise<CheckResult> {
  return guard({ id: "guest-image", title: "Guest image", required: true }, async () => {
    const found = await probe();
    return found.ready
      ? { status: CheckStatus.Ready, detail: found.detail }
      : { status: CheckStatus.Missing, detail: found.detail, fix: "vibewriter image build" };
  });
}

/**
 * The model. Not required (`vibewriter demo` needs no model), but `run` does. `resolve` is the
 * agent's `resolveModel`; its error message says exactly what to set, so it becomes the fix.
 * Only the provider and model name are shown, never a key.
 */
export function checkModel(resolve: () => Promise<{ provider: string; model: string }>): Promise<CheckResult> {
  return guard({ id: "model", title: "Model", required: false }, async () => {
    try {
      const m = await resolve();
      return { status: CheckStatus.Ready, detail: `${m.provider} ${m.model}` };
    } catch (e) {
      return {
        status: CheckStatus.Missing,
        detail: "no model configured (`vibewriter demo` works without one; `run` needs one)",
        fix: (e as Error).message,
      };
    }
  });
}

/**
 * The configured model endpoint: does it answer, accept the key and know the model? `choose` is the
 * agent's `chooseModel`; when it throws (no model configured) nothing is probed and nothing is sent.
 * Once a model is configured the check is required: `run` cannot work without it. `probe` is
 * `probeModelEndpoint` (metadata routes only, no tokens, a short deadline).
 */
export async function checkModelEndpoint<C extends { provider: string; model: string }>(
  choose: () => Promise<C>,
  probe: (choice: C) => Promise<ModelEndpointFinding>,
): Promise<CheckResult> {
  const meta = { id: "model-endpoint", title: "Model endpoint" };
  let choice: C;
  try {
    choice = await choose();
  } catch {
    return { ...meta, required: false, status: CheckStatus.Missing, detail: "not checked: no model configured (see Model)" };
  }
  return guard({ ...meta, required: true }, async () => describeModelEndpoint(await probe(choice)));
}

/** A probe's finding in words: what answered where, and what to change when it is not ready. */
export function describeModelEndpoint(f: ModelEndpointFinding): Omit<CheckResult, "id" | "title" | "required"> {
  const name = `${f.provider}:${f.model}`;
  const said = (status?: number) => `${status ?? ""}${status !== undefined && f.message ? " " : ""}${f.message ?? ""}`;
  const baseVar = f.baseUrlVar ?? (f.provider === "anthropic" ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL");
  switch (f.verdict) {
    case EndpointVerdict.Found:
      return { status: CheckStatus.Ready, detail: `${name} answers at ${f.baseUrl}, model found${f.via === "list" ? " in its list" : ""}` };
    case EndpointVerdict.Refused:
      return {
        status: CheckStatus.Missing,
        detail: `${name}: ${f.baseUrl} refused ${f.keySent ? `the key from ${f.keyVar}` : "the request (no key sent)"} (${said(f.status)})`,
        fix:
          f.status === 403
            ? `The key in ${f.keyVar} has no access to ${f.model} here: check its permissions, project or region.`
            : f.keySent
              ? `Check ${f.keyVar}: the server does not accept it.`
              : `Set ${f.keyVar}.`,
      };
    case EndpointVerdict.UnknownModel:
      return {
        status: CheckStatus.Missing,
        detail: `${f.baseUrl} has no model "${f.model}"${f.status !== undefined || f.message ? ` (${said(f.status)})` : ""}`,
        fix:
          `Set VIBEWRITER_MODEL=${f.provider}:<model> to a model the server has` +
          (f.offered?.length ? `; it lists: ${f.offered.join(", ")}` : f.provider === "anthropic" ? " (GET /v1/models lists the ones your key can use)" : "."),
      };
    case EndpointVerdict.Unreachable:
      return {
        status: CheckStatus.Missing,
        detail: `${name}: no answer from ${f.url}: ${f.message ?? "unreachable"}`,
        fix: f.baseUrlVar
          ? `Start the server at ${f.baseUrl}, or fix ${f.baseUrlVar}.`
          : `Check this machine's connection to ${f.baseUrl} (or set ${baseVar} to a reachable gateway).`,
      };
    case EndpointVerdict.Unexpected:
      return {
        status: CheckStatus.Missing,
        detail: `${name}: ${f.url} answered ${said(f.status)}`,
        fix:
          f.status !== undefined && f.status >= 500
            ? "The provider is failing; try again later."
            : f.provider === "anthropic"
              ? `Check ${baseVar}: it is the API's origin (the client appends /v1/messages).`
              : `Check ${baseVar}: an OpenAI-compatible base URL usually ends in /v1.`,
      };
  }
}

/** Environment variables that unlock the wallet; only their presence is ever reported. */
export const WALLET_KEY_VARS = [WalletEnv.Passphrase, WalletEnv.MasterKey] as const;

/**
 * The wallet. Not required (research runs without it); without a key it stays locked and every
 * payment is refused (fail closed). Reports which variable is set, never its value.
 */
export function checkWallet(env: NodeJS.ProcessEnv): Promise<CheckResult> {
  return guard({ id: "wallet", title: "Wallet", required: false }, async () => {
    const set = WALLET_KEY_VARS.filter((k) => (env[k] ?? "") !== "");
    if (set.length === 0) {
      return {
        status: CheckStatus.Missing,
        detail: "locked: no key configured, payments are refused (fail closed)",
        fix: `Set ${WALLET_KEY_VARS[0]} (a passphrase) or ${WALLET_KEY_VARS[1]} (a master key) to enable payments.`,
      };
    }
    return { status: CheckStatus.Ready, detail: `key from ${set.join(" and ")} (value not shown)` };
  });
}

/**
 * The owner's signing identity: without it no payment above the approval threshold can ever be
 * approved (a mandate needs the owner's signature). Optional, like the wallet.
 */
export function checkOwner(publicKey: () => Promise<string | undefined>): Promise<CheckResult> {
  return guard({ id: "owner", title: "Owner identity", required: false }, async () => {
    const key = await publicKey();
    if (!key) {
      return {
        status: CheckStatus.Missing,
        detail: "no owner key: payments above the approval threshold can never be approved",
        fix: "VIBEWRITER_OWNER_PASSPHRASE=… vibewriter owner init (never give that passphrase to runs or workers)",
      };
    }
    return { status: CheckStatus.Ready, detail: `owner ${key}: approvals are mandates signed with it` };
  });
}

/** What opening the backbone found: where NATS is and what was created. */
export interface NatsFinding {
  /** Server URL without credentials. */
  url: string;
  /** True when Vibewriter started its own nats-server. */
  embedded: boolean;
  /** The connected server's version (from its INFO). */
  serverVersion: string;
  /** Streams and buckets that now exist. */
  created: string[];
  /** How this process authenticated ("nkey", "creds", "user", "token", "none"). */
  auth: string;
  /** Whether the server let in a client with no credentials at all (probed). */
  anonymousAccepted: boolean;
  /**
   * The embedded server was started with `sync_interval: always` (true) or without (false);
   * undefined with NATS_URL, whose operator's config decides and cannot be read from a client.
   */
  syncAlways?: boolean;
}

/**
 * NATS JetStream: starts or finds the server, creates the streams and buckets (idempotent) and
 * checks the server's version. `open` is the backbone's opener; it throws a typed error when the
 * server is missing or unreachable.
 */
export function checkNats(open: () => Promise<NatsFinding>, usingNatsUrl: boolean): Promise<CheckResult> {
  return guard({ id: "nats", title: "NATS JetStream", required: true }, async () => {
    let found: NatsFinding;
    try {
      found = await open();
    } catch (e) {
      const err = e as Error & { code?: string };
      return {
        status: CheckStatus.Missing,
        detail: `${err.code ? `${err.code}: ` : ""}${err.message.split("\n")[0]}`,
        fix: NatsBackboneError.isInstance(e, NatsErrorCode.ReplicasMismatch)
          ? "Set VIBEWRITER_NATS_REPLICAS to the replica count the streams have, or have the server's operator rescale them (nothing is rescaled behind their back)."
          : usingNatsUrl
          ? "Check NATS_URL (and NATS_CREDS/NATS_USER/NATS_TOKEN) and that the server runs with JetStream (-js)."
          : "sudo apt-get install nats-server, or set NATS_URL to an existing JetStream server.",
      };
    }
    const where = `${found.embedded ? "embedded" : "NATS_URL"} ${found.url}, server v${found.serverVersion}`;
    if (!atLeast(found.serverVersion, MIN_NATS_SERVER)) {
      return {
        status: CheckStatus.Missing,
        detail: `${where} is older than ${MIN_NATS_SERVER}`,
        fix: "Upgrade the NATS server to 2.9.10 or newer.",
      };
    }
    const auth = `auth ${found.auth}${found.anonymousAccepted ? "" : ", anonymous clients refused"}`;
    if (found.anonymousAccepted) {
      return {
        status: CheckStatus.Degraded,
        detail: `${where}; ${auth}: the server ACCEPTS ANONYMOUS CLIENTS — anyone who reaches it can read every thread and write payment records`,
        fix: "Require authentication on the server: `vibewriter nats config` prints the identities and permissions to add.",
      };
    }
    return { status: CheckStatus.Ready, detail: `${where}; ${auth}; ready: ${found.created.join(", ")}` };
  });
}

/**
 * The owner's spending policy file. Optional: without it every payment is denied (default deny).
 * `load` is the wallet's parser, so a malformed file is reported here with its exact problem.
 */
export function checkPolicy(path: string, exists: boolean, load: (path: string) => Promise<unknown>): Promise<CheckResult> {
  return guard({ id: "policy", title: "Spending policy", required: false }, async () => {
    if (!exists) {
      return {
        status: CheckStatus.Missing,
        detail: `none at ${path}: every payment is denied`,
        fix: "Write a policy (per-transaction cap, rolling window, allowlist, approval threshold, expiry) there, or set VIBEWRITER_POLICY.",
      };
    }
    try {
      await load(path);
    } catch (e) {
      return { status: CheckStatus.Missing, detail: (e as Error).message, fix: `Fix ${path}; until then every payment is denied.` };
    }
    return { status: CheckStatus.Ready, detail: path };
  });
}

/**
 * Durability of acknowledged writes (ledger, checkpoints): does the server fsync each write before
 * acknowledging it? Not required: without it everything works, but a power loss or OS crash can drop
 * the last acknowledged writes (JetStream's default fsync timer is 2 minutes). `found` is the NATS
 * check's finding, undefined when NATS did not open.
 */
export function checkNatsDurability(found: NatsFinding | undefined): Promise<CheckResult> {
  return guard({ id: "nats-durability", title: "NATS durability", required: false }, async () => {
    if (!found) return { status: CheckStatus.Missing, detail: "not checked: NATS did not open (see NATS JetStream)" };
    const v = `nats-server ${found.serverVersion}`;
    const loss = "a power loss can drop the last acknowledged writes";
    const capable = supportsSyncAlways(found.serverVersion);
    if (found.syncAlways === undefined) {
      return capable
        ? {
            status: CheckStatus.Degraded,
            detail: `set by the server's operator (NATS_URL, ${v}): writes are fsynced before each acknowledgement only with \`sync_interval: always\` in its jetstream block; by default every 2 min, and ${loss}`,
            fix: "Ask the server's operator for `jetstream { sync_interval: always }` (it takes a server restart).",
          }
        : {
            status: CheckStatus.Degraded,
            detail: `fsync every 2 min (NATS_URL, ${v}): ${loss}; nats-server ≥ ${minor(SYNC_ALWAYS_SINCE)} can sync each write`,
            fix: "Ask the server's operator for nats-server 2.10 or newer with `jetstream { sync_interval: always }`.",
          };
    }
    if (found.syncAlways) {
      return { status: CheckStatus.Ready, detail: `writes fsynced before each acknowledgement (${v}, sync_interval: always)` };
    }
    if (capable) {
      return {
        status: CheckStatus.Degraded,
        detail: `fsync every 2 min (${v}, started without sync_interval: always): ${loss}`,
        fix: "The embedded server syncs each write from its next start: once no Vibewriter process uses it, it stops; the next command starts it again.",
      };
    }
    return {
      status: CheckStatus.Degraded,
      detail: `fsync every 2 min (${v}): ${loss}; nats-server ≥ ${minor(SYNC_ALWAYS_SINCE)} syncs each write`,
      fix: "Install nats-server 2.10 or newer (Debian 13 ships 2.10.27), or point NATS_SERVER_BIN at one; the embedded server syncs each write from its next start.",
    };
  });
}

/** "2.10.0" → "2.10" */
function minor(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}
