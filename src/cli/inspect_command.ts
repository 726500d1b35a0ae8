/** `edgering inspect`: a GGUF file's metadata and tensor table, as text or JSON. */
import { openGguf } from "../gguf/mod.ts";
import type { GgufHeader, GgufValue } from "../gguf/types.ts";
import { ggmlTypeInfo } from "../quant/ggml_type.ts";
import { UsageError } from "./cli_error.ts";
import type { Verb } from "./verb.ts";

/** Arrays longer than this are shown as their length and first elements (unless --full). */
const ARRAY_PREVIEW = 8;

export const inspectVerb: Verb = {
  name: "inspect",
  usage: "edgering inspect FILE [--json] [--full]",
  summary: "Prints a GGUF file's version, metadata and tensor table (name, type, dims, bytes, offset).",
  flags: {
    json: { type: "boolean", help: "print one JSON object instead of text" },
    full: { type: "boolean", help: "print long arrays (vocabularies) in full" },
  },
  async run(flags, io) {
    const path = flags.positionals[0];
    if (!path || flags.positionals.length > 1) throw new UsageError("inspect: give exactly one FILE");
    const file = await openGguf(path);
    try {
      const full = !!flags.values.full;
      io.stdout(
        flags.values.json
          ? JSON.stringify(inspectJson(file.header, full), null, 1) + "\n"
          : inspectText(file.header, full),
      );
      return 0;
    } finally {
      file.close();
    }
  },
};

function preview(value: GgufValue, full: boolean): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) {
    if (full || value.length <= ARRAY_PREVIEW) return value.map((v) => preview(v, full));
    return { length: value.length, first: value.slice(0, ARRAY_PREVIEW).map((v) => preview(v, full)) };
  }
  return value;
}

function inspectJson(header: GgufHeader, full: boolean) {
  return {
    version: header.version,
    alignment: header.alignment,
    dataOffset: header.dataOffset,
    metadata: Object.fromEntries([...header.metadata].map(([key, kv]) => [key, preview(kv.value, full)])),
    tensors: header.tensors.map((t) => ({
      name: t.name,
      type: ggmlTypeInfo(t.type)?.name ?? String(t.type),
      dims: t.dims,
      bytes: t.byteSize,
      offset: t.offset,
    })),
  };
}

function inspectText(header: GgufHeader, full: boolean): string {
  const lines = [
    `GGUF v${header.version}, ${header.metadata.size} metadata keys, ${header.tensors.length} tensors, ` +
    `alignment ${header.alignment}, data at byte ${header.dataOffset}`,
    "",
    "metadata:",
  ];
  for (const [key, kv] of header.metadata) {
    lines.push(`  ${key} = ${JSON.stringify(preview(kv.value, full))}`);
  }
  lines.push("", "tensors:");
  const total = header.tensors.reduce((sum, t) => sum + t.byteSize, 0);
  for (const t of header.tensors) {
    const type = ggmlTypeInfo(t.type)?.name ?? String(t.type);
    lines.push(
      `  ${t.name.padEnd(28)} ${type.padEnd(5)} [${t.dims.join(", ")}]`.padEnd(64) +
        ` ${t.byteSize} bytes @ ${t.offset}`,
    );
  }
  lines.push("", `tensor data: ${total} bytes`);
  return lines.join("\n") + "\n";
}
