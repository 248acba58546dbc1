import { ThreadSources } from "../../src/agent/thread-sources.ts";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { checkCitations } from "../../src/agent/citations.ts";
import { createScriptedModel } from "../../src/agent/scripted-model.ts";
import { readSourceManifest, SOURCE_PATHS } from "../../src/agent/sources.ts";
import { createVibewriter } from "../../src/agent/vibewriter.ts";
import { sandboxText, startAgentWorld, type AgentWorld } from "./support/harness.ts";

let world: AgentWorld;
let server: Server;
let base: string;
beforeAll(async () => {
  world = await startAgentWorld();
  server = createServer((req, res) => {
    if (req.url === "/page2") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("Inflation eased to 2.1% in April.");
    } else if (req.url === "/page") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><head><title>Rates</title></head><body><p>The central bank held rates at 4.25% in May.</p></body></html>");
    } else if (req.url === "/blob") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(Buffer.from([0, 1, 2, 3, 0, 0, 0, 9]));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await world?.close();
});

const script = () =>
  createScriptedModel({
    main: ({ turn, results }) =>
      [
        [
          { name: "fetch_url", args: { url: `${base}/page` } },
          { name: "fetch_url", args: { url: `${base}/page2` } },
          { name: "fetch_url", args: { url: `${base}/blob` } },
          { name: "fetch_url", args: { url: `${base}/missing` } },
          { name: "fetch_url", args: { url: "file:///etc/passwd" } },
        ],
        { text: results.join("\n") },
      ][turn],
  });

it("fetch_url (network allowed) stores a page as a citable source in the sandbox and refuses the rest", async () => {
  const sandbox = await world.sandbox("fetch");
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "fetch", model: script(), sandbox, allowNetwork: true, allowPrivateNetwork: true });
  const result = await vw.run("fetch");
  const manifest = await readSourceManifest(world.backbone.blobs, "fetch");
  expect(manifest.map((m) => m.origin).sort()).toEqual([`${base}/page`, `${base}/page2`]); // parallel fetches both kept
  const info = manifest.find((m) => m.origin === `${base}/page`);
  expect(info).toMatchObject({ kind: "html", title: "Rates" });
  expect(result.finalMessage).toContain(`as source ${info!.id}`);
  expect(result.finalMessage).toContain("refused, binary content");
  expect(result.finalMessage).toContain("HTTP 404");
  expect(result.finalMessage).toContain("only http and https");
  expect(await sandboxText(sandbox, SOURCE_PATHS.sandboxFile(info!.id))).toBe("The central bank held rates at 4.25% in May.");
  const index = await sandboxText(sandbox, SOURCE_PATHS.sandboxIndex);
  for (const m of manifest) expect(index).toContain(m.id);
  const check = checkCitations(`Rates held [[src:${info!.id}|"held rates at 4.25% in May"]].`, (await ThreadSources.load(world.backbone.blobs, "fetch")).texts);
  expect(check.ok).toBe(true);
});

it("without the network flag there is no fetch_url tool", async () => {
  const model = script();
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "nofetch", model, sandbox: await world.sandbox("nofetch") });
  const result = await vw.run("fetch");
  expect([...model.boundTools.get("main")!]).not.toContain("fetch_url");
  expect(result.finalMessage).toMatch(/fetch_url/);
  expect(await readSourceManifest(world.backbone.blobs, "nofetch")).toEqual([]);
});

it("fetch_url refuses loopback and private addresses unless the owner allows them", async () => {
  const model = createScriptedModel({
    main: ({ turn, results }) =>
      [
        [
          { name: "fetch_url", args: { url: `${base}/page` } },
          { name: "fetch_url", args: { url: "http://169.254.169.254/latest/meta-data/" } },
          { name: "fetch_url", args: { url: "http://[::1]:4222/" } },
          { name: "fetch_url", args: { url: "http://user:pw@example.com/" } },
        ],
        { text: results.join("\n") },
      ][turn],
  });
  const vw = await createVibewriter({ backbone: world.backbone, threadId: "ssrf", model, sandbox: await world.sandbox("ssrf"), allowNetwork: true });
  const result = await vw.run("fetch");
  expect(result.finalMessage).toContain("127.0.0.1 is a private or local address");
  expect(result.finalMessage).toContain("169.254.169.254 is a private or local address");
  expect(result.finalMessage).toContain("[::1] is a private or local address");
  expect(result.finalMessage).toContain("URLs with credentials are refused");
  expect(await readSourceManifest(world.backbone.blobs, "ssrf")).toEqual([]);
});
