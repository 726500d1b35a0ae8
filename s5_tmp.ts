import { SimCluster } from "./cluster/gossip/sim/sim_cluster.ts";
import { withoutLifeguard } from "./cluster/gossip/config.ts";
import { seededRng, randomInt } from "./cluster/gossip/rng.ts";
function pauseScenario(lifeguard: boolean, seed: number, pauseMs: number) {
  const c = new SimCluster({ n: 50, profile: "lan", seed, tweak: lifeguard ? undefined : withoutLifeguard });
  c.boot();
  const rng = seededRng(seed + 99);
  const t0 = c.now();
  // every 2 s, pause a random node for pauseMs
  for (let t = 0; t < 300_000; t += 2000) {
    const m = c.members[randomInt(rng, 50)];
    if (!m.clock.paused) { c.pause(m.name); c.scheduler.schedule(c.now() + pauseMs * (0.5 + rng.next()), () => c.resume(m.name)); }
    c.runFor(2000);
  }
  c.runFor(30000);
  return c.falseDeads(t0).length;
}
function slowScenario(lifeguard: boolean, seed: number, delay: number) {
  const c = new SimCluster({ n: 50, profile: "lan", seed, tweak: lifeguard ? undefined : withoutLifeguard });
  c.boot();
  const t0 = c.now();
  const slow = c.members.slice(0, 5);
  for (const m of slow) m.clock.receiveDelayMs = delay;
  c.runFor(300_000);
  const fd = c.falseDeads(t0);
  const slowNames = new Set(slow.map(m=>m.name));
  return `${fd.length} (healthy subj ${fd.filter(e=>!slowNames.has(e.subject)).length}, healthy subj+obs ${fd.filter(e=>!slowNames.has(e.subject)&&!slowNames.has(e.observer)).length})`;
}
for (const pm of [4000, 8000]) console.log("pause", pm, "LG", pauseScenario(true, 1, pm), "noLG", pauseScenario(false, 1, pm));
for (const d of [1000, 3000, 6000]) console.log("slow", d, "LG", slowScenario(true, 1, d), "noLG", slowScenario(false, 1, d));
