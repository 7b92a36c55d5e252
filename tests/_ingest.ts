/** Helpers shared by the ingest tests: duplicate answers, and a real server for wire tests. */
import assert from "node:assert/strict";
import { bearer, type EventJson, type EventPageJson, expectJson } from "./_http.ts";
import { SpawnedServer } from "./_server.ts";

/** The 200 the Segment endpoints and the conversion hook answer for an event already received. */
export interface DuplicateJson {
  success: true;
  duplicate: true;
  event_id: string;
  trace_id: string;
}

/** Asserts a 200 duplicate answer for `eventId` and returns it. */
export async function expectDuplicate(res: Response, eventId: string): Promise<DuplicateJson> {
  const body = await expectJson<DuplicateJson>(res, 200);
  assert.deepEqual({ ...body, trace_id: "" }, {
    success: true,
    duplicate: true,
    event_id: eventId,
    trace_id: "",
  });
  assert.match(body.trace_id, /^[0-9a-f]+$/);
  return body;
}

const WIRE_ROOT_TOKEN = "wire-test-root-token-0123456789abcdef";

/** A real server on loopback (`main.ts` on `:memory:` KV) with one workspace. */
export interface WireSluice {
  server: SpawnedServer;
  /** `http://127.0.0.1:PORT`. */
  base: string;
  port: number;
  workspace: { id: string; public_id: string; ingest_key: string; admin_key: string };
  /** Every stored event of the workspace, read with the admin key. */
  events(): Promise<EventJson[]>;
  /** Stops the server (SIGTERM). */
  stop(): Promise<void>;
}

/** Spawns a server and creates a workspace allowing `origins` over HTTP. */
export async function startWireSluice(origins = ["https://shop.example"]): Promise<WireSluice> {
  const server = new SpawnedServer(":memory:", {
    SLUICE_SECRET: "wire-test-secret-0123456789abcdef0123456789",
    SLUICE_ROOT_TOKEN: WIRE_ROOT_TOKEN,
  }, { name: "the wire-test server" });
  try {
    await server.ready();
    const res = await fetch(`${server.base}/v1/workspaces`, {
      method: "POST",
      headers: { ...bearer(WIRE_ROOT_TOKEN), "content-type": "application/json" },
      body: JSON.stringify({ name: "Wire test", allowed_origins: origins }),
    });
    const workspace = await expectJson<WireSluice["workspace"]>(res, 201);
    return {
      server,
      base: server.base,
      port: Number(new URL(server.base).port),
      workspace,
      async events() {
        const page = await fetch(`${server.base}/v1/events?limit=200`, {
          headers: bearer(workspace.admin_key),
        });
        return (await expectJson<EventPageJson>(page, 200)).data;
      },
      async stop() {
        await server.stop("SIGTERM");
      },
    };
  } catch (error) {
    await server.stop("SIGKILL");
    throw error;
  }
}
