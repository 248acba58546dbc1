import { Names } from "../nats/streams.ts";

/**
 * Where the Choir lives in NATS. `citation.>` is outside the `vibewriter.>` streams, so it gets
 * its own stream to make the economic signals durable.
 */
export const ChoirNames = {
  stream: Names.choirStream,
  subjects: Names.choirSubjects,
  /** KV: `report.<id>` metadata, `draft.<thread>` citations staged by `cite_article`. */
  reportsBucket: Names.choirReportsBucket,
  /** Object Store: report bodies by id. */
  bodiesBucket: Names.choirBodiesBucket,
} as const;

/**
 * Emitted when a newly published report cites `citedReportId`. One subject per citing/cited pair,
 * written only while empty: a pair is stored once at any age, not only within JetStream's
 * 2-minute msg-id window (these signals decide who is paid).
 */
export const citationNewSubject = (citedReportId: string, citingReportId: string) => `citation.new.${citedReportId}.${citingReportId}`;
/** Emitted when a reward for `author` has been computed for a period (one subject per pair, written once). */
export const citationRewardSubject = (author: string, period: string) => `citation.reward.${author}.${period}`;

/** Report ids and period ids are single subject tokens. */
export const REPORT_ID = /^r-[a-f0-9]{20}$/;
export const PERIOD_ID = /^[A-Za-z0-9-]{1,64}$/;
