/**
 * The protocol's place between the two sides, read from the source files: it imports nothing but
 * itself and Node's built-ins (the guest bundles it), and the host reaches the guest only through
 * it (the one exception: the image builder, which bundles the agent).
 */
import { relative } from "node:path";
import { importsFrom, importsOf, sources, SRC } from "../support/source-imports.ts";

it("src/protocol imports only itself and node: built-ins", () => {
  expect(importsFrom("protocol", (m) => !m.startsWith("node:") && !m.startsWith("protocol/"))).toEqual([]);
});

it("host code never imports guest code (only the image builder bundles it)", () => {
  const host = sources(SRC).filter((f) => !relative(SRC, f).startsWith("guest/"));
  const crossing = host.flatMap((f) =>
    importsOf(f)
      .filter((m) => m.startsWith("guest/"))
      .map((m) => `${relative(SRC, f)} → ${m}`),
  );
  expect(crossing).toEqual(["sandbox/image/build.ts → guest/build.ts"]);
});
