/// <reference lib="deno.worker" />
// The worker side of IngestWorkers (ingest_workers.ts): prepares batches with its own sealer.
import { eventSealer } from "../event_store.ts";
import { prepareEvents, type WorkerAnswer, type WorkerRequest } from "./workers.ts";
import type { Sealer } from "../crypto.ts";

let sealer: Sealer | undefined;

self.onmessage = (message: MessageEvent<WorkerRequest>) => {
  const request = message.data;
  if (request.kind === "init") {
    sealer = eventSealer(request.masterSecret);
    self.postMessage({ ready: true } satisfies WorkerAnswer);
    return;
  }
  try {
    if (!sealer) throw new Error("the worker has no key yet");
    const prepared = prepareEvents(request.inputs, request.ctx, sealer, request.pathPrefix);
    // Sealed bytes may be views of a shared pool: copy each into its own buffer to transfer.
    const transfer: ArrayBuffer[] = [];
    for (const item of prepared) {
      if (!item.ok) continue;
      item.sealed = new Uint8Array(item.sealed);
      transfer.push(item.sealed.buffer as ArrayBuffer);
    }
    self.postMessage({ id: request.id, prepared } satisfies WorkerAnswer, { transfer });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    self.postMessage({ id: request.id, error: reason } satisfies WorkerAnswer);
  }
};
