export * from "./types.ts";
export * from "./kv_queue.ts";
export * from "./kv_outbox.ts";
