/**
 * Turning a kernel call into a recorded dispatch: the variant's pipeline from the per-device cache, the
 * bind group from a per-backend cache keyed by the buffers bound, the parameters into the arena.
 *
 * Bind groups are keyed by buffer ids, not by parameter values: parameters travel in the parameter
 * arena at a dynamic offset, so the 20-odd dispatches of a decode step reuse the groups created by the
 * first step and no GPU object is created per token.
 *
 * Buffers passed to several accessor bindings (an in-place op such as `add(x, x, y)`) select a variant
 * that binds the buffer once; any other aliasing of a written binding is refused, as WebGPU forbids a
 * buffer to be bound writable twice in one dispatch.
 *
 * @example
 * ```ts
 * const kernels = new Dispatcher(gpu, recorder);
 * recorder.reserve(1, 0);
 * recorder.begin();
 * kernels.dispatch(KERNELS.add, {}, { len: 4 }, [a, b, out], kernels.grid(1));
 * ```
 */
import type { GpuDevice } from "./gpu_device.ts";
import type { WeightChunk } from "./gpu_resources.ts";
import type { KernelSpec } from "./kernel_specs.ts";
import type { ParamFields, ParamValues } from "./param_layout.ts";
import { type KernelVariant, PipelineCache } from "./pipeline_cache.ts";
import type { IdBuffer, Recorder } from "./recorder.ts";
import { WebGpuError } from "./webgpu_error.ts";

/** Records kernel dispatches for one backend. */
export class Dispatcher {
  readonly pipelines: PipelineCache;
  private readonly bindGroups = new Map<string, GPUBindGroup>();

  constructor(private readonly gpu: GpuDevice, private readonly rec: Recorder) {
    this.pipelines = new PipelineCache(gpu.device);
  }

  /**
   * Records one dispatch of `spec` with `bufs` bound in the order of its bindings (and the sections of
   * `chunk` — one chunk per weight role for kernels reading several weights — for weight kernels).
   * Call after `rec.reserve` and `rec.begin`.
   */
  dispatch<F extends ParamFields>(
    spec: KernelSpec<F>,
    variant: KernelVariant,
    values: ParamValues<F>,
    bufs: readonly IdBuffer[],
    grid: readonly number[],
    chunk?: WeightChunk | readonly WeightChunk[],
  ): void {
    const chunks: readonly WeightChunk[] = chunk === undefined ? [] : "buf" in chunk ? [chunk] : chunk;
    const shared = bufs.map((b, i) => {
      const first = bufs.findIndex((o) => o.id === b.id);
      if (first !== i && !(spec.bindings[i].accessor && spec.bindings[first].accessor)) {
        if (spec.bindings[i].access === "read_write" || spec.bindings[first].access === "read_write") {
          throw new WebGpuError(
            "bad_input",
            `${spec.name}: ${spec.bindings[i].name} must not alias ${spec.bindings[first].name}`,
          );
        }
        return i; // two read-only bindings of one buffer are allowed as they are
      }
      return first;
    });
    const pipe = this.pipelines.get(spec, shared.some((s, i) => s !== i) ? { ...variant, shared } : variant);
    const ids = pipe.slots.map((s) => (s >= 0 ? bufs[s].id : "")).join(",");
    const key = `${pipe.key}#${ids}#${chunks.map((c) => c.buf.id).join(",")}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      const entries: GPUBindGroupEntry[] = [
        {
          binding: 0,
          resource: { buffer: this.rec.paramArena.buffer, offset: 0, size: spec.params.byteSize },
        },
      ];
      // weight sections fill the remaining slots chunk by chunk, in role order
      const sections = chunks.flatMap((c) => c.sections.map((sec) => ({ buf: c.buf, sec })));
      let section = 0;
      pipe.slots.forEach((s, i) => {
        if (s >= 0) {
          entries.push({ binding: i + 1, resource: { buffer: bufs[s].buffer } });
          return;
        }
        const next = sections[section++];
        if (!next) throw new Error(`${spec.name} needs a weight chunk for each weight it reads`);
        entries.push({
          binding: i + 1,
          resource: { buffer: next.buf.buffer, offset: next.sec.offset, size: next.sec.size },
        });
      });
      group = this.gpu.device.createBindGroup({ label: key, layout: pipe.layout, entries });
      this.bindGroups.set(key, group);
      this.rec.stats.bindGroupsCreated++;
    }
    this.rec.dispatch(pipe.pipeline, group, this.rec.pushParams(spec.params, values), grid);
  }

  /** A 1-D count of workgroups as (x, y) within the per-dimension limit. */
  grid(workgroups: number): number[] {
    const x = Math.min(Math.max(workgroups, 1), this.gpu.limits.maxComputeWorkgroupsPerDimension);
    return [x, this.dim(Math.ceil(workgroups / x))];
  }

  /** `count` workgroups along one dimension, refused past the adapter's limit. */
  dim(count: number): number {
    if (count > this.gpu.limits.maxComputeWorkgroupsPerDimension) {
      throw new WebGpuError(
        "too_large",
        `${count} workgroups exceed the adapter's ${this.gpu.limits.maxComputeWorkgroupsPerDimension} per dimension`,
      );
    }
    return count;
  }

  /** Forgets the bind groups (their buffers are being destroyed). */
  clear(): void {
    this.bindGroups.clear();
  }
}
