export { Choir, type ChoirOptions, type ChoirStorageNames, type PublishInput, type SearchHit } from "./choir.ts";
export { ChoirError, ChoirErrorCode } from "./errors.ts";
export { citationNewSubject, citationRewardSubject } from "./names.ts";
export type { PublishedReport, CitationSignal, RewardSignal } from "./report.ts";
export { computeRewards, distributeRewards, type RewardPeriod, type RewardComputation, type RewardPayment } from "./rewards.ts";
