/** `resume` goes on with the options its thread was run with, kept in the memory KV. */
import { rememberRunOptions, resumeOptions } from "../../src/agent/run-options.ts";
import { startTestNats, type TestNats } from "../support/nats.ts";

let t: TestNats;
beforeAll(async () => {
  t = await startTestNats();
});
afterAll(async () => {
  await t?.close();
});

describe("run options across resume", () => {
  it("resumes with the run's skills and network, absolute paths, for any thread id", async () => {
    const store = t.backbone.store;
    const thread = "user@example.com/thread #1 ü.*>";
    await rememberRunOptions(store, thread, { skills: ["skills/extra", "/opt/skills/other"], allowNetwork: true });
    expect(await resumeOptions(store, thread, { skills: [], allowNetwork: false })).toEqual({
      skills: [`${process.cwd()}/skills/extra`, "/opt/skills/other"],
      allowNetwork: true,
      remembered: true,
    });
  });

  it("lets resume's own flags win: --skills replaces the list, --allow-network adds the network", async () => {
    const store = t.backbone.store;
    await rememberRunOptions(store, "t-flags", { skills: ["/a"], allowNetwork: false });
    expect(await resumeOptions(store, "t-flags", { skills: ["/b"], allowNetwork: true })).toEqual({ skills: ["/b"], allowNetwork: true, remembered: true });
    expect(await resumeOptions(store, "t-flags", { skills: [], allowNetwork: false })).toEqual({ skills: ["/a"], allowNetwork: false, remembered: true });
  });

  it("uses what resume was given for a thread run before options were kept, or with a record it cannot read", async () => {
    const store = t.backbone.store;
    expect(await resumeOptions(store, "t-unknown", { skills: ["/c"], allowNetwork: false })).toEqual({ skills: ["/c"], allowNetwork: false, remembered: false });
    await store.put(["vibewriter", "run-options"], "t-odd", { skills: "/not-a-list", allowNetwork: "yes" });
    expect(await resumeOptions(store, "t-odd", { skills: [], allowNetwork: false })).toEqual({ skills: [], allowNetwork: false, remembered: false });
  });
});
