import assert from "node:assert/strict";
import { clientKey } from "../../src/api/generation_handlers.ts";

const request = (authorization?: string) =>
  new Request("http://node/v1/completions", {
    method: "POST",
    headers: authorization ? { authorization } : {},
  });

const cases: {
  name: string;
  auth?: string;
  keys: string[];
  user?: string;
  addr?: string;
  expected: string | undefined | RegExp;
}[] = [
  {
    name: "the API key names the client when keys are configured",
    auth: "Bearer k1",
    keys: ["k1"],
    user: "u",
    addr: "10.0.0.1",
    expected: /^key:[0-9a-f]{16}$/,
  },
  {
    name: "without keys the user field names the client",
    auth: "Bearer k1",
    keys: [],
    user: "alice",
    addr: "10.0.0.1",
    expected: "user:alice",
  },
  {
    name: "without keys or user the remote address names the client",
    keys: [],
    addr: "10.0.0.1",
    expected: "addr:10.0.0.1",
  },
  { name: "with nothing to go on the request is anonymous", keys: [], expected: undefined },
  {
    name: "an empty user field falls back to the address",
    keys: [],
    user: "",
    addr: "::1",
    expected: "addr:::1",
  },
];

for (const c of cases) {
  Deno.test(`client key: ${c.name}`, async () => {
    const key = await clientKey(request(c.auth), c.keys, c.user, c.addr);
    if (c.expected instanceof RegExp) assert.match(key ?? "", c.expected);
    else assert.equal(key, c.expected);
  });
}

Deno.test("client key: different API keys are different clients and the key itself is not in the name", async () => {
  const a = await clientKey(request("Bearer secret-a"), ["secret-a", "secret-b"], undefined, undefined);
  const b = await clientKey(request("Bearer secret-b"), ["secret-a", "secret-b"], undefined, undefined);
  assert.notEqual(a, b);
  assert.ok(!a?.includes("secret") && !b?.includes("secret"));
  assert.equal(a, await clientKey(request("bearer secret-a"), ["secret-a"], "someone", "10.0.0.2"));
});
