export * from "./types.ts";
export * from "./kv_queue.ts";
