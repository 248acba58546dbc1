/**
 * The ledger's head kept outside NATS: a small signed file in the owner's state directory,
 * advanced after every append this installation makes. Whoever controls NATS can delete the
 * stream, truncate it or re-hash it, but cannot make the chain agree with this record again.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { canonicalJson } from "./canonical-json.ts";
import { WalletError, WalletErrorCode } from "./errors.ts";
import type { LedgerAnchor, LedgerEntry, LedgerSigner } from "./ledger.ts";
import { verifyByNkey } from "../nats/index.ts";

interface AnchorRecord {
  v: 1;
  stream: string;
  index: number;
  hash: string;
  at: string;
  by: string;
  /** base64 ed25519 over the canonical JSON of the other fields. */
  sig: string;
}

const bytes = (r: Omit<AnchorRecord, "sig">) => new TextEncoder().encode(`vibewriter-ledger-anchor-v1\n${canonicalJson(r as never)}`);

export class FileLedgerAnchor implements LedgerAnchor {
  readonly file: string;
  readonly #stream: string;
  readonly #signer?: LedgerSigner;
  readonly #trusted?: readonly string[];

  constructor(file: string, stream: string, opts: { signer?: LedgerSigner; trusted?: readonly string[] } = {}) {
    this.file = file;
    this.#stream = stream;
    this.#signer = opts.signer;
    this.#trusted = opts.trusted;
  }

  async read(): Promise<{ index: number; hash: string } | undefined> {
    let r: AnchorRecord;
    try {
      r = JSON.parse(await readFile(this.file, "utf8")) as AnchorRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new WalletError(WalletErrorCode.Tamper, `the ledger anchor ${this.file} is unreadable`, { cause: e });
    }
    const { sig, ...body } = r;
    const valid =
      r.v === 1 && r.stream === this.#stream && Number.isSafeInteger(r.index) && /^[0-9a-f]{64}$/.test(r.hash) && typeof sig === "string" &&
      (!this.#trusted || (this.#trusted.includes(r.by) && verifyByNkey(r.by, bytes(body), Buffer.from(sig, "base64"))));
    if (!valid) throw new WalletError(WalletErrorCode.Tamper, `the ledger anchor ${this.file} is not signed by the runtime or the owner`);
    return { index: r.index, hash: r.hash };
  }

  /** Moves the anchor forward to `entry` (never back). Needs a signer; without one it does nothing. */
  async advance(entry: LedgerEntry): Promise<void> {
    if (!this.#signer) return;
    const current = await this.read().catch(() => undefined);
    if (current && current.index >= entry.index) return;
    const body: Omit<AnchorRecord, "sig"> = { v: 1, stream: this.#stream, index: entry.index, hash: entry.hash, at: entry.at, by: this.#signer.publicKey };
    const record: AnchorRecord = { ...body, sig: Buffer.from(this.#signer.sign(bytes(body))).toString("base64") };
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(record) + "\n", { mode: 0o600 });
    await rename(tmp, this.file);
  }
}
