import assert from "node:assert/strict";
import { createBackend } from "../../src/backend/create_backend.ts";
import { ReadBufferTooSmallError } from "../../src/backend/read_into.ts";

for (const choice of ["reference", "wasm"] as const) {
  Deno.test(`${choice}: read into a caller's buffer gives the same values, in that buffer`, async () => {
    const backend = await createBackend(choice, { threads: 1 });
    try {
      const values = Float32Array.from({ length: 37 }, (_, i) => i * 0.5 - 3);
      const t = backend.alloc(values.length);
      backend.write(t, values);
      const fresh = await backend.read(t, 20);
      const buffer = new Float32Array(64).fill(99);
      const into = await backend.read(t, 20, buffer);
      assert.deepEqual(into, fresh);
      assert.equal(into.buffer, buffer.buffer, "a view of the caller's buffer");
      assert.equal(buffer[20], 99, "nothing past the values read is touched");
      // a fresh read is the caller's own copy: later writes to the tensor don't show in it
      backend.write(t, new Float32Array(37));
      assert.equal(fresh[2], values[2]);
      await assert.rejects(() => backend.read(t, 20, new Float32Array(19)), ReadBufferTooSmallError);
    } finally {
      backend.dispose();
    }
  });
}
