/**
 * Entry point of a worker thread of the wasm backend's {@link ThreadPool}.
 *
 * It receives the compiled kernel modules, the shared memory, its thread index and its own stack, then
 * loops forever: wait for the job generation counter to move, run this thread's share of the job
 * described in memory, count itself done. See thread_pool.ts for the protocol.
 */
import { parentPort } from "node:worker_threads";
import { instantiateKernels } from "./kernels.ts";
import { Ctl, type WorkerInit, workerLoop } from "./thread_pool.ts";

if (parentPort !== null) {
  const port = parentPort;
  port.once("message", (init: WorkerInit) => {
    const k = instantiateKernels(init.kernels, init.relaxed, init.memory);
    k.__stack_pointer.value = init.stackTop;
    const ctl = new Int32Array(init.memory.buffer, init.ctlPtr, Ctl.Words);
    port.postMessage("ready");
    workerLoop(ctl, init.tid, (desc, tid, nth) => k.run(desc, tid, nth));
  });
}
