import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import {
  CONFIG_FIELDS,
  CONFIG_KEYS,
  ConfigError,
  configFromEnv,
  configFromFlags,
  configFromToml,
  defaultConfig,
  formatConfig,
  loadServeConfig,
} from "../../src/config/mod.ts";

const files = (contents: Record<string, string>) => (path: string) => {
  if (!(path in contents)) return Promise.reject(new Deno.errors.NotFound(path));
  return Promise.resolve(contents[path]);
};

Deno.test("precedence is flag > environment > config file > default, field by field", async () => {
  const { config, sources } = await loadServeConfig({
    flags: { port: "9001" },
    env: { EDGERING_PORT: "9002", EDGERING_SLOTS: "3", HOME: "/home/ada" },
    configPath: "edgering.toml",
    readTextFile: files({ "edgering.toml": "port = 9003\nslots = 5\nqueue_size = 7\n" }),
  });
  assert.equal(config.port, 9001);
  assert.equal(config.slots, 3);
  assert.equal(config.queueSize, 7);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.cacheDir, "/home/ada/.cache/edgering");
  assert.deepEqual(
    { port: sources.port, slots: sources.slots, queueSize: sources.queueSize, host: sources.host },
    { port: "flag", slots: "env", queueSize: "file", host: "default" },
  );
});

Deno.test("the config file path may come from EDGERING_CONFIG", async () => {
  const { config, file } = await loadServeConfig({
    flags: {},
    env: { EDGERING_CONFIG: "/etc/edgering.toml" },
    readTextFile: files({ "/etc/edgering.toml": 'host = "0.0.0.0"' }),
  });
  assert.equal(config.host, "0.0.0.0");
  assert.equal(file, "/etc/edgering.toml");
});

Deno.test("repeated --api-key flags and a comma-separated EDGERING_API_KEY give key lists", () => {
  assert.deepEqual(configFromFlags({ "api-key": ["a", "b"] }).apiKeys, ["a", "b"]);
  assert.deepEqual(configFromEnv({ EDGERING_API_KEY: "k1, k2,," }).apiKeys, ["k1", "k2"]);
  assert.deepEqual(configFromToml('api_keys = ["z"]', "c.toml").apiKeys, ["z"]);
});

Deno.test("booleans from flags, environment and file", () => {
  assert.equal(configFromFlags({ offline: true }).offline, true);
  for (const [text, value] of [["1", true], ["yes", true], ["false", false], ["OFF", false]] as const) {
    assert.equal(configFromEnv({ EDGERING_OFFLINE: text }).offline, value);
  }
  assert.throws(
    () => configFromEnv({ EDGERING_OFFLINE: "maybe" }),
    /EDGERING_OFFLINE: expected true or false/,
  );
});

Deno.test("bad values name their source and field", () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => configFromFlags({ port: "http" }), /--port: expected an integer/],
    [() => configFromFlags({ port: "70000" }), /--port: .*65535/],
    [() => configFromEnv({ EDGERING_SLOTS: "0" }), /environment EDGERING_SLOTS/],
    [() => configFromEnv({ EDGERING_BACKEND: "cuda" }), /EDGERING_BACKEND/],
    [() => configFromToml("slots = 1.5", "c.toml"), /config file c\.toml: slots/],
    [() => configFromToml('port = "80"', "c.toml"), /c\.toml: port/],
    [() => configFromToml("prot = 80", "c.toml"), /unknown key "prot"/],
    [() => configFromToml("port = = 1", "c.toml"), /config file c\.toml line 1/],
    [() => configFromToml('model_sha256 = "abc"', "c.toml"), /64 hex digits/],
  ];
  for (const [run, message] of cases) {
    assert.throws(run, (e: unknown) => e instanceof ConfigError && message.test(e.message));
  }
});

Deno.test("max_batch below slots is refused, naming both sources", async () => {
  await assert.rejects(
    loadServeConfig({ flags: { slots: "32" }, env: { EDGERING_MAX_BATCH: "16" } }),
    /max_batch 16 \(from env\) must be at least slots 32 \(from flag\)/,
  );
});

Deno.test("a missing config file is a one-line error naming it", async () => {
  await assert.rejects(
    loadServeConfig({ flags: {}, env: {}, configPath: "/nope.toml", readTextFile: files({}) }),
    (e: unknown) => e instanceof ConfigError && e.message === "cannot read config file /nope.toml: not found",
  );
});

Deno.test("empty environment variables count as unset", () => {
  assert.deepEqual(configFromEnv({ EDGERING_MODEL: "", EDGERING_PORT: "" }), {});
});

Deno.test("--print-config output is TOML that reads back to the same config, keys redacted", async () => {
  const resolved = await loadServeConfig({
    flags: { port: "0", "api-key": ["secret"] },
    env: { EDGERING_MODEL: "hf:a/b/c.gguf" },
  });
  const text = formatConfig(resolved);
  assert.ok(!text.includes("secret"));
  assert.match(text, /# 1 key\(s\), redacted|api_keys: 1 key\(s\), redacted/);
  assert.match(text, /\[flag; --port, EDGERING_PORT\]/);
  assert.match(text, /# threads = \(unset\)/);
  const back = configFromToml(text, "printed.toml");
  const { apiKeys: _a, ...expected } = resolved.config;
  const { apiKeys: _b, ...actual } = { ...defaultConfig(), ...back };
  assert.deepEqual(actual, expected);
  assert.ok(parseToml(text));
});

Deno.test("every config field has a distinct flag, variable and file key", () => {
  for (const attr of ["flag", "env", "toml"] as const) {
    const names = CONFIG_KEYS.map((k) => CONFIG_FIELDS[k][attr]);
    assert.equal(new Set(names).size, names.length, attr);
  }
  assert.equal(CONFIG_FIELDS.maxBodyBytes.env, "EDGERING_MAX_BODY_BYTES");
  assert.equal(CONFIG_FIELDS.modelSha256.toml, "model_sha256");
});
