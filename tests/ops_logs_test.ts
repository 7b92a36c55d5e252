import assert from "node:assert/strict";
import { configureLog, log, type LogLevel, scrub } from "../lib/log.ts";
import { freePort } from "./_server.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { webhookReceiver } from "./_webhook_receiver.ts";
import { eventually } from "./_wait.ts";

const ROOT = new URL("../", import.meta.url);

/** Everything a spawned server writes, kept whole (the PII grep must see every byte). */
class CapturedServer implements AsyncDisposable {
  readonly base: string;
  readonly #process: Deno.ChildProcess;
  readonly #drained: Promise<void>;
  output = "";

  constructor(env: Record<string, string>) {
    const port = freePort();
    this.base = `http://127.0.0.1:${port}`;
    this.#process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: ROOT,
      env: { PORT: String(port), HOSTNAME: "127.0.0.1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#drained = Promise.all([this.#process.stdout, this.#process.stderr].map(async (stream) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this.output += chunk;
    })).then(() => {});
  }

  async ready(): Promise<void> {
    await eventually("the server to answer /healthz", async () => {
      try {
        const res = await fetch(`${this.base}/healthz`);
        await res.body?.cancel();
        return res.ok || undefined;
      } catch {
        return undefined;
      }
    }, 30_000);
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.base}${path}`, init);
  }

  /** Stops the server gracefully and answers everything it wrote. */
  async stop(): Promise<string> {
    try {
      this.#process.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#process.status;
    await this.#drained;
    return this.output;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

const SECRETS = {
  root: "root-token-for-the-log-test-0123456789",
  master: "master-secret-for-the-log-test-0123456789",
  metrics: "metrics-token-for-the-log-test-0123456789",
  accessToken: "EAAB-access-token-for-the-log-test-42",
};

/** The people the events describe: each value must never be logged, in any form given here. */
const PEOPLE = [
  {
    email: "zebedee.quillonbury@example.com",
    phone: "+1 650 555 0142",
    first: "Zebedee",
    last: "Quillonbury",
  },
  {
    email: "Marguerite.Oxenholme@Example.org",
    phone: "+44 20 7946 0321",
    first: "Marguerite",
    last: "Oxenholme",
  },
  {
    email: "hook.person@example.net",
    phone: "+33 6 12 34 56 78",
    first: "Hookfirst",
    last: "Hooklast",
  },
  {
    email: "segment.person@example.io",
    phone: "+49 30 1234567",
    first: "Segfirst",
    last: "Seglast",
  },
];

/** Forms a phone may be written in: as sent, digits only, E.164. */
function phoneForms(phone: string): string[] {
  const digits = phone.replace(/\D/g, "");
  return [phone, digits, `+${digits}`, digits.slice(-9)];
}

Deno.test({
  name: "a full flow logs JSON lines and no e-mail, phone, name, token or secret it was sent",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Meta fails every request, echoing what it was sent; the webhook receiver fails once, echoing.
    await using meta = mockPlatform((_, request) =>
      new Response(JSON.stringify({ error: { message: `Invalid: ${request.text}` } }), {
        status: 400,
      })
    );
    await using receiver = webhookReceiver((n, request) =>
      n === 1 ? new Response(request.body, { status: 500 }) : undefined
    );
    await using server = new CapturedServer({
      SLUICE_KV: ":memory:",
      SLUICE_ROOT_TOKEN: SECRETS.root,
      SLUICE_SECRET: SECRETS.master,
      SLUICE_METRICS_TOKEN: SECRETS.metrics,
      SLUICE_ALLOW_PRIVATE_URLS: "1",
      SLUICE_LOG_LEVEL: "debug",
      SLUICE_DELIVERY_RETRY_SCHEDULE: "50ms",
      SLUICE_WEBHOOK_RETRY_SCHEDULE: "50ms",
      SLUICE_DELIVERY_TIMEOUT: "2s",
    });
    await server.ready();
    const json = (body: unknown, key: string, method = "POST"): RequestInit => ({
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    const created = await server.fetch(
      "/v1/workspaces",
      json({ name: "Log shop", allowed_origins: ["https://shop.example"] }, SECRETS.root),
    );
    assert.equal(created.status, 201);
    const ws = await created.json();
    const platform = await server.fetch(
      "/v1/platforms",
      json({
        type: "meta",
        name: "Meta",
        config: { pixel_id: "1234567890", access_token: SECRETS.accessToken, endpoint: meta.url },
      }, ws.admin_key),
    );
    assert.equal(platform.status, 201);
    await platform.body?.cancel();
    const hook = await server.fetch(
      "/v1/webhooks",
      json({ url: receiver.url, events: ["conversion.created", "delivery.failed"] }, ws.admin_key),
    );
    assert.equal(hook.status, 201);
    const { secret: webhookSecret } = await hook.json();

    const [native, browser, hookPerson, segment] = PEOPLE;
    const userData = (p: typeof PEOPLE[number]) => ({
      email: p.email,
      phone: p.phone,
      first_name: p.first,
      last_name: p.last,
    });
    const answers: Response[] = [
      await server.fetch(
        "/v1/events",
        json({
          event_id: "log-1",
          event_name: "purchase",
          value: 10,
          currency: "EUR",
          user_data: userData(native!),
        }, ws.ingest_key),
      ),
      // Invalid values that quote the PII in the answer: the answer may, the log may not.
      await server.fetch(
        "/v1/events",
        json({
          event_name: "purchase",
          value: native!.email,
          currency: native!.phone,
          user_data: { email: 5, phone: {} },
        }, ws.ingest_key),
      ),
      await server.fetch("/v1/browser/events", {
        method: "POST",
        headers: {
          "content-type": "text/plain",
          origin: "https://shop.example",
          "user-agent":
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
        },
        body: JSON.stringify({
          public_id: ws.public_id,
          event_name: "lead",
          user_data: userData(browser!),
          page: { url: `https://shop.example/thanks?email=${encodeURIComponent(browser!.email)}` },
        }),
      }),
      await server.fetch(
        `/collect/hook?k=${ws.ingest_key}&event=purchase&value=12&email=${
          encodeURIComponent(hookPerson!.email)
        }&phoneNumber=${encodeURIComponent(hookPerson!.phone)}&firstName=${
          hookPerson!.first
        }&lastName=${hookPerson!.last}`,
      ),
      await server.fetch("/v1/track", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa(`${ws.ingest_key}:`)}`,
        },
        body: JSON.stringify({
          type: "track",
          event: "Order Completed",
          userId: segment!.email,
          properties: { revenue: 30 },
          context: { traits: userData(segment!) },
        }),
      }),
      await server.fetch("/v1/events", json({ event_name: "x" }, `sk_${SECRETS.accessToken}`)),
      await server.fetch("/metrics", { headers: { authorization: `Bearer ${SECRETS.metrics}` } }),
      await server.fetch("/metrics", { headers: { authorization: `Bearer ${SECRETS.root}` } }),
      await server.fetch("/v1/events/log-1/replay", json({}, ws.admin_key)),
    ];
    for (const answer of answers) await answer.body?.cancel();
    assert.deepEqual(answers.map((a) => a.status), [202, 400, 202, 202, 202, 401, 200, 401, 202]);

    // Events fail at Meta (400) and raise delivery.failed to the webhook.
    await eventually("the deliveries to fail and the webhooks to be sent", async () => {
      const res = await server.fetch("/v1/events?status=failed&limit=50", {
        headers: { authorization: `Bearer ${ws.admin_key}` },
      });
      const failed = (await res.json()).data.length;
      return failed >= 4 && receiver.ofType("delivery.failed").length > 0 &&
          receiver.ofType("conversion.created").length >= 3 || undefined;
    }, 15_000);
    const erased = await server.fetch("/v1/erasure", json({ email: native!.email }, ws.admin_key));
    assert.equal(erased.status, 200);
    await erased.body?.cancel();

    const output = await server.stop();
    const lines = output.split("\n").filter((line) => line.startsWith("{"));
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(logged.some((l) => l.msg === "request" && l.route === "/collect/hook"));
    assert.ok(
      logged.some((l) =>
        l.msg === "delivery attempt" && l.outcome === "failed" && l.status === 400
      ),
    );
    assert.ok(logged.some((l) => l.msg === "webhook attempt" && l.outcome === "retrying"));
    assert.ok(logged.some((l) => l.msg === "erasure"));
    for (const line of logged) {
      assert.equal(typeof line.time, "string");
      assert.ok(["debug", "info", "warn", "error"].includes(String(line.level)));
    }
    const request = logged.find((l) => l.msg === "request" && l.route === "/v1/events")!;
    assert.deepEqual(Object.keys(request).sort(), [
      "duration_ms",
      "level",
      "method",
      "msg",
      "route",
      "status",
      "time",
      "trace_id",
      "workspace_id",
    ]);
    const attempt = logged.find((l) => l.msg === "delivery attempt")!;
    for (
      const field of [
        "trace_id",
        "workspace_id",
        "destination_id",
        "destination_type",
        "outcome",
        "status",
        "latency_ms",
      ]
    ) {
      assert.ok(field in attempt, `delivery attempt line has ${field}`);
    }

    const text = output.toLowerCase();
    const forbidden = [
      ...Object.values(SECRETS),
      webhookSecret,
      webhookSecret.replace(/^whsec_/, ""),
      ws.admin_key,
      ws.ingest_key,
      ...PEOPLE.flatMap((p) => [
        p.email,
        encodeURIComponent(p.email),
        p.first,
        p.last,
        ...phoneForms(p.phone),
      ]),
    ];
    for (const value of forbidden) {
      assert.ok(!text.includes(value.toLowerCase()), `the output holds "${value}"`);
    }
  },
});

Deno.test("scrub() masks e-mails, credentials, URL queries and phone numbers in free text", () => {
  const text =
    "POST https://graph.example/v1/events?access_token=EAAB123 failed for ada@example.com " +
    "(Bearer sk_live_0123456789, whsec_abcdefghijkl) call +1 (650) 555-1212 on 2026-01-05, port 8000";
  const masked = scrub(text);
  for (
    const leaked of ["EAAB123", "ada@example.com", "sk_live_0123456789", "abcdefghijkl", "555-1212"]
  ) {
    assert.ok(!masked.includes(leaked), masked);
  }
  assert.ok(masked.includes("https://graph.example/v1/events?[query]"), masked);
  assert.ok(masked.includes("2026-01-05") && masked.includes("8000"), masked);
});

Deno.test("log lines below SLUICE_LOG_LEVEL are dropped; each line is one JSON object", () => {
  const lines: [LogLevel, string][] = [];
  const before = configureLog({ level: "warn", sink: (level, line) => lines.push([level, line]) });
  try {
    log.debug("hidden");
    log.info("hidden");
    log.warn("shown", { n: 1, skipped: undefined });
    log.error("failed for ada@example.com", { error: "Error: bob@example.com refused" });
  } finally {
    configureLog(before);
  }
  assert.deepEqual(lines.map(([level]) => level), ["warn", "error"]);
  const [warn, error] = lines.map(([, line]) => JSON.parse(line));
  assert.equal(warn.msg, "shown");
  assert.equal(warn.n, 1);
  assert.ok(!("skipped" in warn));
  assert.equal(error.msg, "failed for [email]");
  assert.equal(error.error, "Error: [email] refused");
});
