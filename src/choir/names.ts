import { Names } from "../nats/index.ts";

/**
 * The Choir's subjects, under `Names.choirSubjects` (its stream and buckets are `Names.choir*`).
 * `citation.>` is outside the `vibewriter.>` streams, so it gets its own stream to make the
 * economic signals durable.
 */
export const CITATION_NEW_PREFIX = `${Names.choirSubjectPrefix}.new.`;

/**
 * Emitted when a newly published report cites `citedReportId`. One subject per citing/cited pair,
 * written only while empty: a pair is stored once at any age, not only within JetStream's
 * 2-minute msg-id window (these signals decide who is paid).
 */
export const citationNewSubject = (citedReportId: string, citingReportId: string) => `${CITATION_NEW_PREFIX}${citedReportId}.${citingReportId}`;
/** Emitted when a reward for `author` has been computed for a period (one subject per pair, written once). */
export const citationRewardSubject = (author: string, period: string) => `${Names.choirSubjectPrefix}.reward.${author}.${period}`;

/** Report ids and period ids are single subject tokens. */
export const REPORT_ID = /^r-[a-f0-9]{20}$/;
export const PERIOD_ID = /^[A-Za-z0-9-]{1,64}$/;
