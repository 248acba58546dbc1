/** A report published to the Choir (KV `report.<id>`; the body is in the Object Store). */
export interface PublishedReport {
  /** `r-` + 20 hex of sha256(author, title, body): publishing the same report twice is one report. */
  id: string;
  title: string;
  /** The author's Stellar account id: rewards are paid there. */
  author: string;
  abstract: string;
  /** Ids of earlier published reports this one cites. */
  cites: string[];
  publishedAt: string;
  sha256: string;
  bytes: number;
}

/** The body of `citation.new.<cited>`. */
export interface CitationSignal {
  citing: string;
  cited: string;
  citingAuthor: string;
  citedAuthor: string;
  /** Citing your own report is recorded but never rewarded. */
  selfCitation: boolean;
  at: string;
}

/** The body of `citation.reward.<author>`. Amounts are decimal strings. */
export interface RewardSignal {
  period: string;
  author: string;
  citations: number;
  /** Citation_Rate = budget for the period / citations in the period. */
  rate: string;
  amount: string;
  asset: string;
  from: string;
  to: string;
}
