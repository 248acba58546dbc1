import { MicroVMBackend } from "../src/sandbox/backend.ts";
import { buildImage } from "../src/sandbox/image/build.ts";
import { DEFAULT_SHAPE } from "../src/sandbox/pool.ts";
import { ensureTemplate } from "../src/sandbox/snapshot.ts";
import { QemuDriver } from "../src/sandbox/vmm/qemu.ts";
import { WorkspaceSync } from "../src/sandbox/workspace-sync.ts";
import { startTestNats } from "../test/support/nats.ts";
const t0 = performance.now();
const image = await buildImage();
const driver = new QemuDriver();
const snapshot = await ensureTemplate(driver, image, DEFAULT_SHAPE);
console.log("image+template", ((performance.now() - t0) / 1000).toFixed(1), "s");
const vm = await driver.start({ image, ...DEFAULT_SHAPE, restore: snapshot });
await vm.ready(60_000);
const ours = await MicroVMBackend.create({ threadId: "zz", vm });
const nats = await startTestNats();
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
try {
  const sync = new WorkspaceSync(nats.backbone.blobs, "zz-sync");
  const client = await ours.guest();
  await sync.restore(client);
  const plain: number[] = [], synced: number[] = [], ph = { manifest: [] as number[], download: [] as number[], store: [] as number[] };
  const command = (d: string) => `mkdir ${d} && for i in $(seq 1 1000); do echo "file $i" > ${d}/f$i.txt; done`;
  for (let i = 0; i < 4; i++) {
    let t = performance.now(); await ours.execute(command(`/workspace/plain${i}`)); plain.push(performance.now() - t);
    await sync.afterCommand(client);
    t = performance.now();
    await ours.execute(command(`/workspace/synced${i}`));
    const rep = await sync.afterCommand(client);
    synced.push(performance.now() - t);
    for (const k of ["manifest", "download", "store"] as const) ph[k].push(rep.phases[k]);
    if (rep.saved !== 1000) throw new Error(`saved ${rep.saved}`);
  }
  console.log(`command ${med(plain).toFixed(0)} ms, +sync ${med(synced).toFixed(0)} ms: manifest ${med(ph.manifest).toFixed(0)}, download ${med(ph.download).toFixed(0)}, store ${med(ph.store).toFixed(0)}; ratio ${(med(synced) / med(plain)).toFixed(2)}`);
} finally { await ours.close(); await nats.close(); }
