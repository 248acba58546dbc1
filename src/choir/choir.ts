import { createHash } from "node:crypto";
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { Names, publishAcked } from "../nats/index.ts";
import { isStellarAddress } from "../wallet/index.ts";
import { ChoirError, ChoirErrorCode } from "./errors.ts";
import { CITATION_NEW_PREFIX, citationNewSubject, REPORT_ID } from "./names.ts";
import type { CitationSignal, PublishedReport } from "./report.ts";

/** Stream and bucket names (defaults: `Names.choir*`). */
export interface ChoirStorageNames {
  stream: string;
  subjects: string;
  /** KV: `report.<id>` metadata, `draft.<thread>` citations staged by `cite_article`. */
  reportsBucket: string;
  /** Object Store: report bodies by id. */
  bodiesBucket: string;
}

export interface ChoirOptions {
  clock?: () => Date;
  /** Override names (tests isolate themselves). */
  names?: Partial<ChoirStorageNames>;
  /** Replicas of the stream and buckets when this call creates them (`Backbone.replicas`; default 1). */
  replicas?: number;
}

export interface PublishInput {
  title: string;
  body: string;
  /** Stellar account id of the author (where rewards go). */
  author: string;
  abstract?: string;
  cites?: string[];
}

export interface SearchHit {
  id: string;
  title: string;
  author: string;
  publishedAt: string;
  score: number;
  snippet: string;
}

const MAX_BODY = 4 * 1024 * 1024;
const MAX_TITLE = 300;
const MAX_ABSTRACT = 2000;

/**
 * The Choir knowledge base on NATS: published reports (metadata in KV, bodies in the Object
 * Store), and the economic signals — `citation.new.<report>` for every citation of an earlier
 * published report — on the durable `VIBEWRITER_CHOIR` stream.
 */
export class Choir {
  readonly names: ChoirStorageNames;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #kv: KV;
  readonly #os: ObjectStore;
  readonly #clock: () => Date;

  private constructor(js: JetStreamClient, jsm: JetStreamManager, kv: KV, os: ObjectStore, names: ChoirStorageNames, clock: () => Date) {
    this.#js = js;
    this.#jsm = jsm;
    this.#kv = kv;
    this.#os = os;
    this.names = names;
    this.#clock = clock;
  }

  /** Opens the Choir, creating its stream and buckets when absent (idempotent). */
  static async open(nats: { js: JetStreamClient; jsm: JetStreamManager }, opts: ChoirOptions = {}): Promise<Choir> {
    const names: ChoirStorageNames = {
      stream: Names.choirStream,
      subjects: Names.choirSubjects,
      reportsBucket: Names.choirReportsBucket,
      bodiesBucket: Names.choirBodiesBucket,
      ...opts.names,
    };
    try {
      await nats.jsm.streams.info(names.stream);
    } catch (e) {
      if (!(e instanceof JetStreamApiError) || e.status !== 404) throw new ChoirError(ChoirErrorCode.Nats, `cannot look up stream ${names.stream}`, { cause: e });
      try {
        await nats.jsm.streams.add({
          name: names.stream,
          subjects: [names.subjects],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          discard: DiscardPolicy.Old,
          max_age: 0,
          num_replicas: opts.replicas ?? 1,
          duplicate_window: 2 * 60 * 1_000_000_000,
          allow_direct: true,
        });
      } catch (cause) {
        await nats.jsm.streams.info(names.stream).catch(() => {
          throw new ChoirError(ChoirErrorCode.Nats, `cannot create stream ${names.stream}`, { cause });
        });
      }
    }
    try {
      const kv = await new Kvm(nats.js).create(names.reportsBucket, { history: 1, replicas: opts.replicas ?? 1 });
      const os = await new Objm(nats.js).create(names.bodiesBucket, { storage: StorageType.File, replicas: opts.replicas ?? 1 });
      return new Choir(nats.js, nats.jsm, kv, os, names, opts.clock ?? (() => new Date()));
    } catch (cause) {
      throw new ChoirError(ChoirErrorCode.Nats, "cannot open the Choir buckets", { cause });
    }
  }

  /**
   * Publishes a report. Every cited id must be an already published report; each citation emits
   * `citation.new.<cited>.<citing>` (stored once per pair, at any age). Publishing identical content
   * again returns the existing report and emits nothing new (it completes the signals a crash
   * between storing the report and signalling its citations left out).
   */
  async publish(input: PublishInput): Promise<PublishedReport> {
    const title = typeof input.title === "string" ? input.title.trim() : "";
    if (!title || title.length > MAX_TITLE) throw new ChoirError(ChoirErrorCode.InvalidReport, `a report needs a title of 1–${MAX_TITLE} characters`);
    if (typeof input.body !== "string" || !input.body.trim()) throw new ChoirError(ChoirErrorCode.InvalidReport, "a report needs a non-empty body");
    const bytes = Buffer.from(input.body, "utf8");
    if (bytes.length > MAX_BODY) throw new ChoirError(ChoirErrorCode.InvalidReport, `report body is larger than ${MAX_BODY} bytes`);
    if (!isStellarAddress(input.author)) throw new ChoirError(ChoirErrorCode.InvalidReport, "the author must be an exact Stellar account id");
    const abstract = (input.abstract ?? input.body.slice(0, 400)).slice(0, MAX_ABSTRACT);
    const id = `r-${createHash("sha256").update(JSON.stringify([input.author, title, input.body])).digest("hex").slice(0, 20)}`;

    const existing = await this.get(id);
    if (existing) {
      await this.#signalCitations(existing, await this.#citedReports(existing.cites));
      return existing;
    }

    const cites = [...new Set(input.cites ?? [])];
    const cited = await this.#citedReports(cites);
    const report: PublishedReport = {
      id,
      title,
      author: input.author,
      abstract,
      cites,
      publishedAt: this.#clock().toISOString(),
      sha256: createHash("sha256").update(bytes).digest("hex"),
      bytes: bytes.length,
    };
    // Body first, then metadata: a report is visible only once its body is stored.
    await this.#os.putBlob({ name: id }, bytes);
    try {
      await this.#kv.create(`report.${id}`, JSON.stringify(report));
    } catch (e) {
      const again = await this.get(id);
      if (again) return again;
      throw new ChoirError(ChoirErrorCode.Nats, `cannot store report ${id}`, { cause: e });
    }
    await this.#signalCitations(report, cited);
    return report;
  }

  async #citedReports(cites: readonly unknown[]): Promise<PublishedReport[]> {
    const cited: PublishedReport[] = [];
    for (const c of cites) {
      if (typeof c !== "string" || !REPORT_ID.test(c)) throw new ChoirError(ChoirErrorCode.InvalidCitation, `${JSON.stringify(String(c).slice(0, 40))} is not a Choir report id`);
      const r = await this.get(c);
      if (!r) throw new ChoirError(ChoirErrorCode.InvalidCitation, `cannot cite ${c}: no such published report`);
      cited.push(r);
    }
    return cited;
  }

  /** One `citation.new.<cited>.<citing>` per pair, written only while the pair's subject is empty. */
  async #signalCitations(report: PublishedReport, cited: readonly PublishedReport[]): Promise<void> {
    for (const r of cited) {
      const signal: CitationSignal = {
        citing: report.id,
        cited: r.id,
        citingAuthor: report.author,
        citedAuthor: r.author,
        selfCitation: r.author === report.author,
        at: report.publishedAt,
      };
      try {
        await publishAcked(this.#js, citationNewSubject(r.id, report.id), new TextEncoder().encode(JSON.stringify(signal)), {
          msgID: `cite:${report.id}:${r.id}`,
          ifAbsent: true,
        });
      } catch (cause) {
        throw new ChoirError(ChoirErrorCode.Nats, `cannot signal the citation of ${r.id} by ${report.id}`, { cause });
      }
    }
  }

  async get(id: string): Promise<PublishedReport | undefined> {
    if (typeof id !== "string" || !REPORT_ID.test(id)) return undefined;
    const e = await this.#kv.get(`report.${id}`);
    return e && e.operation === "PUT" ? e.json<PublishedReport>() : undefined;
  }

  async body(id: string): Promise<string | undefined> {
    if (!(await this.get(id))) return undefined;
    const b = await this.#os.getBlob(id);
    return b ? new TextDecoder().decode(b) : undefined;
  }

  async list(): Promise<PublishedReport[]> {
    const out: PublishedReport[] = [];
    for await (const k of await this.#kv.keys("report.>")) {
      const r = await this.get(k.slice("report.".length));
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.publishedAt.localeCompare(b.publishedAt));
  }

  /** Keyword search over titles (×3), abstracts (×2) and bodies; best first. */
  async search(query: string, limit = 5): Promise<SearchHit[]> {
    const terms = [...new Set(String(query).toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? [])].slice(0, 20);
    if (terms.length === 0) return [];
    const hits: SearchHit[] = [];
    for (const r of await this.list()) {
      const raw = (await this.body(r.id)) ?? "";
      const body = raw.toLowerCase();
      const title = r.title.toLowerCase();
      const abs = r.abstract.toLowerCase();
      let score = 0;
      for (const t of terms) score += 3 * count(title, t) + 2 * count(abs, t) + count(body, t);
      if (score === 0) continue;
      const at = Math.max(0, terms.map((t) => body.indexOf(t)).filter((i) => i >= 0).sort((a, b) => a - b)[0] ?? 0);
      hits.push({ id: r.id, title: r.title, author: r.author, publishedAt: r.publishedAt, score, snippet: raw.slice(Math.max(0, at - 80), at + 160).replace(/\s+/g, " ").trim() });
    }
    return hits.sort((a, b) => b.score - a.score || a.publishedAt.localeCompare(b.publishedAt)).slice(0, Math.max(1, Math.min(limit, 20)));
  }

  /** Every `citation.new.*` signal whose time is in [from, to), in stream order, once per citing/cited pair. */
  async citations(from: Date, to: Date): Promise<CitationSignal[]> {
    const { first_seq, last_seq, messages } = (await this.#jsm.streams.info(this.names.stream)).state;
    if (messages === 0) return [];
    const out: CitationSignal[] = [];
    const pairs = new Set<string>(); // a store written before pairs had their own subject may hold copies
    // Direct reads by sequence: works on nats-server 2.9 and needs no consumer to clean up.
    for (let seq = first_seq; seq <= last_seq; seq++) {
      const m = await this.#jsm.streams.getMessage(this.names.stream, { seq });
      if (!m || !m.subject.startsWith(CITATION_NEW_PREFIX)) continue;
      const s = m.json<CitationSignal>();
      const pair = `${s.citing} ${s.cited}`;
      if (pairs.has(pair)) continue;
      pairs.add(pair);
      const t = Date.parse(s.at);
      if (t >= from.getTime() && t < to.getTime()) out.push(s);
    }
    return out;
  }

  /** KV for the tools' per-draft state (staged citations). */
  get kv(): KV {
    return this.#kv;
  }
}

function count(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}
