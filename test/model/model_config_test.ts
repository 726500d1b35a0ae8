import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { type GgufHeader, type GgufKv, GgufValueType } from "../../src/gguf/mod.ts";
import { ModelConfigError, modelConfigFromGguf } from "../../src/model/model_config.ts";
import { GgmlType } from "../../src/quant/ggml_type.ts";

const u32 = (value: number): GgufKv => ({ type: GgufValueType.UINT32, value });
const str = (value: string): GgufKv => ({ type: GgufValueType.STRING, value });

function header(
  overrides: Record<string, GgufKv | undefined>,
  tensorNames = ["token_embd.weight", "output.weight"],
): GgufHeader {
  const base: Record<string, GgufKv | undefined> = {
    "general.architecture": str("llama"),
    "llama.embedding_length": u32(64),
    "llama.block_count": u32(2),
    "llama.attention.head_count": u32(8),
    "llama.attention.head_count_kv": u32(4),
    "llama.feed_forward_length": u32(172),
    ...overrides,
  };
  const metadata = new Map(Object.entries(base).filter((e): e is [string, GgufKv] => e[1] !== undefined));
  const tensors = tensorNames.map((name) => ({
    name,
    dims: [64, 512],
    type: GgmlType.F32,
    offset: 0,
    byteSize: 64 * 512 * 4,
  }));
  return { version: 3, metadata, tensors, alignment: 32, dataOffset: 0 };
}

Deno.test("model config takes llama.cpp's defaults for absent optional keys", () => {
  const cfg = modelConfigFromGguf(header({}));
  assertEquals([cfg.headDim, cfg.kvDim, cfg.ctx, cfg.vocab, cfg.rmsEps], [8, 32, 2048, 512, 1e-5]);
  assertEquals(cfg.rope, { headDim: 8, ropeDim: 8, freqBase: 10000, neox: false });
  assertEquals([cfg.tiedEmbeddings, cfg.qkvBias], [false, false]);
  const tied = modelConfigFromGguf(header({}, ["token_embd.weight", "blk.0.attn_q.bias"]));
  assertEquals([tied.tiedEmbeddings, tied.qkvBias], [true, true]);
});

const BAD_HEADERS: ReadonlyArray<[string, GgufHeader, RegExp]> = [
  [
    "unknown architecture",
    header({ "general.architecture": str("mamba") }),
    /unsupported architecture "mamba"/,
  ],
  ["missing width", header({ "llama.embedding_length": undefined }), /llama.embedding_length" is missing/],
  [
    "width of the wrong type",
    header({ "llama.embedding_length": str("64") }),
    /llama.embedding_length" must be/,
  ],
  ["absurd layer count", header({ "llama.block_count": u32(2 ** 30) }), /block_count = 1073741824/],
  ["zero heads", header({ "llama.attention.head_count": u32(0) }), /head_count = 0/],
  [
    "heads not a multiple of kv heads",
    header({ "llama.attention.head_count_kv": u32(3) }),
    /not a multiple of head_count_kv 3/,
  ],
  ["odd rope dimension", header({ "llama.rope.dimension_count": u32(7) }), /rope.dimension_count 7/],
  ["no embedding tensor", header({}, ["output.weight"]), /no token_embd.weight/],
];

for (const [what, bad, message] of BAD_HEADERS) {
  Deno.test(`model config refuses ${what} with a ModelConfigError naming it`, () => {
    throws(
      () => modelConfigFromGguf(bad),
      (error: unknown) => error instanceof ModelConfigError && message.test(error.message),
    );
  });
}
