/**
 * A customer's webhook receiver on 127.0.0.1 for tests: records every request and checks its
 * Standard Webhooks signatures with its own HMAC (Web Crypto, independent of Sluice's
 * node:crypto signer).
 */

/** One request the receiver got. */
export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  /** The raw `webhook-signature` header. */
  signature: string;
  body: string;
  json: {
    id: string;
    type: string;
    created_at: string;
    workspace_id: string;
    // deno-lint-ignore no-explicit-any -- tests read whichever fields each message type has
    data: any;
  };
  /** When it arrived, epoch ms. */
  at: number;
}

/** A running receiver; `await using` shuts it down. */
export interface WebhookReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/hook` */
  url: string;
  received: ReceivedWebhook[];
  /** Received messages of one type. */
  ofType(type: string): ReceivedWebhook[];
  close(): Promise<void>;
}

/** Starts a receiver answering the `n`th request (from 1) from `script`, else 204. */
export function webhookReceiver(
  script: (n: number, request: ReceivedWebhook) => Response | undefined = () => undefined,
): WebhookReceiver {
  const received: ReceivedWebhook[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    const request: ReceivedWebhook = {
      id: req.headers.get("webhook-id") ?? "",
      timestamp: Number(req.headers.get("webhook-timestamp")),
      signature: req.headers.get("webhook-signature") ?? "",
      body,
      json: JSON.parse(body),
      at: Date.now(),
    };
    received.push(request);
    return script(received.length, request) ?? new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    received,
    ofType: (type) => received.filter((r) => r.json.type === type),
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The base64 HMAC-SHA256 of `id.timestamp.body` under a `whsec_` secret, by Web Crypto. */
export async function expectedSignature(
  secret: string,
  request: Pick<ReceivedWebhook, "id" | "timestamp" | "body">,
): Promise<string> {
  const keyBytes = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${request.id}.${request.timestamp}.${request.body}`),
  );
  return btoa(String.fromCharCode(...new Uint8Array(mac)));
}

/** Whether one of the request's `v1,` signatures was made with `secret`. */
export async function signedWith(secret: string, request: ReceivedWebhook): Promise<boolean> {
  const expected = await expectedSignature(secret, request);
  return request.signature.split(" ").some((entry) => entry === `v1,${expected}`);
}
