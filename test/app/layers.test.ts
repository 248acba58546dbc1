/**
 * The composition root's place, read from the source files: the root (src/app) builds what a
 * process needs and hands each layer its ports, so no lower layer imports it; and the sandbox
 * reaches the NATS Object Store only through its `WorkspaceStore` port, so it imports no NATS.
 */
import { importsFrom } from "../support/source-imports.ts";

it("no lower layer imports the composition root", () => {
  for (const layer of ["agent", "sandbox", "nats", "wallet", "choir", "export", "protocol", "config"]) {
    expect(importsFrom(layer, (m) => m.startsWith("app/"))).toEqual([]);
  }
});

it("the sandbox imports no NATS: its store is a port", () => {
  expect(importsFrom("sandbox", (m) => m.startsWith("nats/") || m.startsWith("@nats-io/"))).toEqual([]);
});
