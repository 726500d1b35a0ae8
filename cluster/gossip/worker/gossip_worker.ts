/**
 * Worker entry: runs one {@link GossipNode} on real sockets off the main thread, so model loading or
 * a long kernel on the main thread cannot delay our acks (a delayed ack looks exactly like a dead
 * node to the rest of the ring). Spawned by {@link GossipWorker}; speaks `protocol.ts`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { resolveConfig } from "../config.ts";
import { GossipNode } from "../gossip_node.ts";
import { Keyring } from "../keyring.ts";
import { NetTransport } from "../net_transport.ts";
import type { WorkerInfo, WorkerMessage, WorkerRequest } from "./protocol.ts";

let node: GossipNode | undefined;
let transport: NetTransport | undefined;
let load: Uint8Array = new Uint8Array(0);

function post(msg: WorkerMessage): void {
  self.postMessage(msg);
}

function running(): GossipNode {
  if (!node) throw new Error("gossip worker: node not started");
  return node;
}

function keyring(): Keyring {
  const k = transport?.envelope.keyring;
  if (!k) throw new Error("gossip worker: the ring is unencrypted, there is no keyring");
  return k;
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case "start": {
      const o = req.options;
      const config = resolveConfig(o.profile, { ...o.overrides, name: o.name, label: o.label ?? "" });
      const ring = o.keys && o.keys.length > 0 ? await Keyring.create(o.keys) : undefined;
      transport = NetTransport.listen({
        hostname: o.hostname,
        port: o.port,
        advertiseHost: o.advertiseHost,
        label: config.label,
        keyring: ring,
      });
      node = new GossipNode({
        config,
        transport,
        meta: o.meta,
        incarnation: o.incarnation,
        ackPayload: () => load,
        onEvent: (event) => post({ event }),
        log: (level, message) => post({ log: { level, message } }),
      });
      node.start();
      return transport.address;
    }
    case "join":
      return await running().join(req.seeds);
    case "members":
      return running().members();
    case "info": {
      const n = running();
      const info: WorkerInfo = {
        address: n.transport.address,
        name: n.config.name,
        healthScore: n.healthScore,
        incarnation: n.table.local().incarnation,
        queueDepth: n.queue.length,
        encrypted: transport?.envelope.keyring !== undefined,
        gossip: n.stats(),
        transport: transport!.stats,
      };
      return info;
    }
    case "setLoad":
      load = req.load;
      return;
    case "broadcastUserState":
      return running().broadcastUserState(req.payload);
    case "updateMeta":
      return running().updateMeta(req.meta);
    case "installKey":
      return await keyring().install(req.key);
    case "useKey":
      return keyring().use(req.key);
    case "removeKey":
      return keyring().remove(req.key);
    case "leave":
      return await running().leave(req.timeoutMs);
    case "shutdown":
      await node?.shutdown();
      node = undefined;
      return;
  }
}

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const req = e.data;
  handle(req).then(
    (value) => post({ id: req.id, ok: true, value }),
    (err) =>
      post({
        id: req.id,
        ok: false,
        error: String((err as Error)?.message ?? err),
        errorName: (err as Error)?.name ?? "Error",
      }),
  );
};
