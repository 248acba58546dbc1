/**
 * The names Vibewriter keeps in JetStream are defined once (`Names`, src/nats/streams.ts) and every
 * other test imports them. This test is the one place that spells them out: a rename would orphan
 * every existing store and break the permissions of the identities already issued.
 */
import { CITATION_NEW_PREFIX, citationNewSubject, citationRewardSubject } from "../../src/choir/names.ts";
import {
  kvStreamName,
  kvSubjectPrefix,
  Names,
  objectChunkSubjectPrefix,
  objectInfoSubjectPrefix,
  objectStoreStreamName,
  objectStoreSubjectPrefix,
} from "../../src/nats/streams.ts";

describe("Names", () => {
  it("are the names existing stores hold (a key may be renamed, never a value)", () => {
    expect(Object.values(Names).sort()).toEqual([
      "VIBEWRITER_CHOIR",
      "VIBEWRITER_CHOIR_BODIES",
      "VIBEWRITER_CHOIR_REPORTS",
      "VIBEWRITER_EVENTS",
      "VIBEWRITER_FILES",
      "VIBEWRITER_LEASES",
      "VIBEWRITER_LEDGER",
      "VIBEWRITER_MANDATES",
      "VIBEWRITER_MEMORY",
      "VIBEWRITER_PAYMENTS",
      "VIBEWRITER_RUNS",
      "VIBEWRITER_STATE",
      "citation",
      "citation.>",
      "vibewriter",
      "vibewriter.duplicates",
      "vibewriter.events",
      "vibewriter.ledger.entry",
      "vibewriter.runs",
      "vibewriter.state",
      "vibewriter.svc",
    ]);
  });

  it("buckets live in the streams and subjects JetStream gives them", () => {
    expect(kvStreamName(Names.memoryBucket)).toBe("KV_VIBEWRITER_MEMORY");
    expect(kvSubjectPrefix(Names.memoryBucket)).toBe("$KV.VIBEWRITER_MEMORY");
    expect(objectStoreStreamName(Names.filesBucket)).toBe("OBJ_VIBEWRITER_FILES");
    expect(objectStoreSubjectPrefix(Names.filesBucket)).toBe("$O.VIBEWRITER_FILES");
    expect(objectChunkSubjectPrefix(Names.filesBucket)).toBe("$O.VIBEWRITER_FILES.C.");
    expect(objectInfoSubjectPrefix(Names.filesBucket)).toBe("$O.VIBEWRITER_FILES.M.");
  });

  it("the Choir's signals are under its subjects", () => {
    expect(citationNewSubject("r-1", "r-2")).toBe("citation.new.r-1.r-2");
    expect(citationNewSubject("r-1", "r-2").startsWith(CITATION_NEW_PREFIX)).toBe(true);
    expect(citationRewardSubject("GABC", "p1")).toBe("citation.reward.GABC.p1");
  });
});
