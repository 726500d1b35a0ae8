import assert from "node:assert/strict";
import { defaultConfig, type ServeConfig } from "../../src/config/mod.ts";
import {
  ClusterConfigError,
  clusterTiming,
  defaultNodeName,
  defaultStateDir,
  joinHostPort,
  resolveClusterSettings,
} from "../../src/cluster_node/mod.ts";

const config = (over: Partial<ServeConfig> = {}): ServeConfig => ({ ...defaultConfig({}), ...over });
const KEY = btoa(String.fromCharCode(...new Uint8Array(16).fill(7)));

Deno.test("the default node name is the host name up to its first dot", () => {
  const table: [string | undefined, string][] = [
    ["kitchen", "kitchen"],
    ["kitchen.local", "kitchen"],
    ["  attic.example.org ", "attic"],
    ["", "edgering"],
    [undefined, "edgering"],
  ];
  for (const [host, name] of table) assert.equal(defaultNodeName(host), name, String(host));
});

Deno.test("the default state directory is a folder per node under the XDG state home", () => {
  const table: [Record<string, string>, string, string][] = [
    [{ XDG_STATE_HOME: "/xdg", HOME: "/home/ada" }, "a", "/xdg/edgering/a"],
    [{ XDG_STATE_HOME: "relative", HOME: "/home/ada" }, "a", "/home/ada/.local/state/edgering/a"],
    [{ HOME: "/home/ada" }, "node b/c", "/home/ada/.local/state/edgering/node_b_c"],
    [{ HOME: "/home/ada" }, "..", "/home/ada/.local/state/edgering/__"],
    [{}, "a", ".local/state/edgering/a"],
  ];
  for (const [env, name, dir] of table) assert.equal(defaultStateDir(env, name), dir, name);
});

Deno.test("settings come from the serve config, with the host's name and state home as defaults", () => {
  const s = resolveClusterSettings(config(), { hostname: "kitchen.lan", env: { HOME: "/home/ada" } });
  assert.equal(s.name, "kitchen");
  assert.equal(s.profile, "lan");
  assert.equal(s.bindHost, "127.0.0.1");
  assert.equal(s.advertiseHost, "127.0.0.1");
  assert.equal(s.port, 7946);
  assert.deepEqual(s.seeds, []);
  assert.equal(s.clusterKey, undefined);
  assert.equal(s.stateDir, "/home/ada/.local/state/edgering/kitchen");
  assert.deepEqual(s.timing, clusterTiming("lan"));

  const t = resolveClusterSettings(
    config({
      nodeName: "n1",
      profile: "local",
      gossipPort: 0,
      gossipHost: "0.0.0.0",
      join: ["10.0.0.2:7946"],
      clusterKey: KEY,
      stateDir: "/var/lib/edgering",
    }),
    { env: {}, addresses: ["192.168.1.20", "10.0.0.9"] },
  );
  assert.equal(t.name, "n1");
  assert.equal(t.advertiseHost, "192.168.1.20", "a wildcard bind advertises the first address");
  assert.deepEqual([...t.clusterKey!], [...new Uint8Array(16).fill(7)]);
  assert.equal(t.stateDir, "/var/lib/edgering");
  assert.ok(t.timing.loadSampleMs < clusterTiming("lan").loadSampleMs);
  assert.equal(
    resolveClusterSettings(config({ gossipHost: "0.0.0.0", advertise: "edge-1.lan" }), { env: {} })
      .advertiseHost,
    "edge-1.lan",
  );
});

Deno.test("settings that cannot work are refused naming the flags", () => {
  const table: [Partial<ServeConfig>, RegExp][] = [
    [{ insecure: true, clusterKey: KEY }, /--insecure and --cluster-key contradict/],
    [{ gossipHost: "0.0.0.0" }, /set --advertise/],
    [{ nodeName: "x".repeat(129) }, /longer than 128 bytes/],
  ];
  for (const [over, message] of table) {
    assert.throws(
      () => resolveClusterSettings(config(over), { env: {} }),
      (e) => e instanceof ClusterConfigError && message.test(e.message),
    );
  }
});

Deno.test("host and port join with brackets around IPv6 hosts", () => {
  assert.equal(joinHostPort("10.0.0.1", 80), "10.0.0.1:80");
  assert.equal(joinHostPort("::1", 80), "[::1]:80");
  assert.equal(joinHostPort("[::1]", 80), "[::1]:80");
});
