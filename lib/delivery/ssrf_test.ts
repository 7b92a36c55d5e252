import assert from "node:assert/strict";
import {
  addressRefusal,
  assertPublicUrl,
  checkUrl,
  type Resolver,
  UnsafeUrlError,
} from "./ssrf.ts";

/** A resolver answering from a table and recording every lookup; never touches the network. */
function fakeResolver(table: Record<string, { A?: string[]; AAAA?: string[] }>): {
  resolve: Resolver;
  lookups: string[];
} {
  const lookups: string[] = [];
  const resolve: Resolver = (hostname, recordType) => {
    lookups.push(`${hostname} ${recordType}`);
    return Promise.resolve(table[hostname]?.[recordType] ?? []);
  };
  return { resolve, lookups };
}

const DNS = fakeResolver({
  "api.example.com": { A: ["93.184.215.14"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] },
  "v4only.example.com": { A: ["8.8.8.8"] },
  "v6only.example.com": { AAAA: ["2a00:1450:4001:82b::200e"] },
  "private.example.com": { A: ["10.1.2.3"] },
  "mixed.example.com": { A: ["8.8.8.8", "192.168.1.10"] },
  "mixed6.example.com": { A: ["8.8.8.8"], AAAA: ["::1"] },
  "metadata.example.com": { A: ["169.254.169.254"] },
  "mapped.example.com": { AAAA: ["::ffff:127.0.0.1"] },
  "nat64.example.com": { AAAA: ["64:ff9b::a00:1"] },
  "ula.example.com": { AAAA: ["fd12:3456::1"] },
  "garbage.example.com": { A: ["not-an-ip"] },
  "trailing.example.com.": { A: ["8.8.4.4"] },
});

const ALLOWED: readonly [url: string, addresses: readonly string[]][] = [
  ["https://api.example.com/v1/events?x=1", [
    "93.184.215.14",
    "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
  ]],
  ["https://v4only.example.com", ["8.8.8.8"]],
  ["https://v6only.example.com:8443/hook", ["2a00:1450:4001:82b::200e"]],
  ["https://trailing.example.com./", ["8.8.4.4"]],
  ["https://8.8.8.8/", ["8.8.8.8"]],
  ["https://[2606:4700:4700::1111]/", ["2606:4700:4700::1111"]],
  ["https://[64:ff9b::808:808]/", ["64:ff9b::808:808"]],
  ["https://[2002:808:808::1]/", ["2002:808:808::1"]],
];

const REFUSED: readonly [url: string, code: string, quoted: string][] = [
  ["not a url", "invalid_url", '"not a url"'],
  ["http://api.example.com/", "scheme", "https"],
  ["ftp://api.example.com/", "scheme", "https"],
  ["file:///etc/passwd", "scheme", "https"],
  ["https://user:secret@api.example.com/", "credentials", "credentials"],
  ["https://api.example.com:0/hook", "port", "port 0"],
  ["https://8.8.8.8:0/", "port", "port 0"],
  ["https://localhost/", "host", '"localhost"'],
  ["https://LOCALHOST./", "host", '"localhost"'],
  ["https://app.localhost/", "host", '"app.localhost"'],
  ["https://printer.local/", "host", "local-only"],
  ["https://metadata.google.internal/computeMetadata/v1/", "host", "metadata"],
  ["https://db.corp.internal/", "host", "local-only"],
  ["https://intranet/", "host", "single-label"],
  ["https://127.0.0.1/", "address", "loopback"],
  ["https://127.1/", "address", "loopback"],
  ["https://0x7f000001/", "address", "loopback"],
  ["https://2130706433/", "address", "loopback"],
  ["https://10.0.0.1/", "address", "private (10.0.0.0/8)"],
  ["https://172.16.5.4/", "address", "private (172.16.0.0/12)"],
  ["https://172.31.255.255/", "address", "private (172.16.0.0/12)"],
  ["https://192.168.0.1/", "address", "private (192.168.0.0/16)"],
  ["https://169.254.10.10/", "address", "link-local"],
  ["https://169.254.169.254/latest/meta-data/", "address", "cloud metadata"],
  ["https://100.64.0.1/", "address", "carrier-grade NAT"],
  ["https://0.0.0.0/", "address", "unspecified"],
  ["https://255.255.255.255/", "address", "broadcast"],
  ["https://224.0.0.1/", "address", "multicast"],
  ["https://240.0.0.1/", "address", "reserved"],
  ["https://192.0.2.1/", "address", "documentation"],
  ["https://198.51.100.7/", "address", "documentation"],
  ["https://203.0.113.9/", "address", "documentation"],
  ["https://198.18.0.1/", "address", "benchmarking"],
  ["https://[::1]/", "address", "loopback"],
  ["https://[::]/", "address", "unspecified"],
  ["https://[fe80::1]/", "address", "link-local"],
  ["https://[fc00::1]/", "address", "unique-local"],
  ["https://[fd00:ec2::254]/", "address", "cloud metadata"],
  ["https://[ff02::1]/", "address", "multicast"],
  ["https://[2001:db8::1]/", "address", "documentation"],
  ["https://[::ffff:127.0.0.1]/", "address", "IPv4-mapped form of 127.0.0.1"],
  ["https://[::ffff:169.254.169.254]/", "address", "cloud metadata"],
  ["https://[::ffff:10.0.0.1]/", "address", "private"],
  ["https://[64:ff9b::7f00:1]/", "address", "NAT64 form of 127.0.0.1"],
  ["https://[64:ff9b::a9fe:a9fe]/", "address", "NAT64 form of 169.254.169.254"],
  ["https://[64:ff9b:1::1]/", "address", "local-use NAT64"],
  ["https://[2002:7f00:1::1]/", "address", "6to4 form of 127.0.0.1"],
  ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "address", "Teredo"],
  ["https://[::7f00:1]/", "address", "not global unicast"],
  ["https://private.example.com/", "address", "resolves to 10.1.2.3"],
  ["https://mixed.example.com/", "address", "resolves to 192.168.1.10"],
  ["https://mixed6.example.com/", "address", "resolves to ::1"],
  ["https://metadata.example.com/", "address", "cloud metadata"],
  ["https://mapped.example.com/", "address", "IPv4-mapped form of 127.0.0.1"],
  ["https://nat64.example.com/", "address", "NAT64 form of 10.0.0.1"],
  ["https://ula.example.com/", "address", "unique-local"],
  ["https://garbage.example.com/", "address", "not an IP address"],
  ["https://nowhere.example.com/", "dns", "no A or AAAA record"],
];

Deno.test("checkUrl() accepts https URLs whose every address is public", async () => {
  for (const [url, addresses] of ALLOWED) {
    const check = await checkUrl(url, { resolve: DNS.resolve });
    assert.equal(check.kind, "ok", `${url}: ${check.kind === "refused" ? check.reason : ""}`);
    if (check.kind === "ok") assert.deepEqual(check.addresses, addresses, url);
  }
});

Deno.test("checkUrl() refuses non-public URLs with a reason quoting the URL", async () => {
  for (const [url, code, fragment] of REFUSED) {
    const check = await checkUrl(url, { resolve: DNS.resolve });
    assert.equal(check.kind, "refused", `${url} should be refused`);
    if (check.kind !== "refused") continue;
    assert.equal(check.code, code, `${url}: ${check.reason}`);
    assert.ok(check.reason.startsWith('Refused URL "'), check.reason);
    assert.ok(check.reason.includes(fragment), `${url}: "${check.reason}" lacks "${fragment}"`);
  }
});

Deno.test("checkUrl() never quotes credentials, path or query in its reason", async () => {
  const check = await checkUrl("https://10.0.0.1/hook/tok3n?api_secret=s3cret");
  assert.equal(check.kind, "refused");
  if (check.kind === "refused") {
    assert.equal(
      check.reason,
      'Refused URL "https://10.0.0.1": address 10.0.0.1 is private (10.0.0.0/8) ' +
        "(for local testing against your own machine, set SLUICE_ALLOW_PRIVATE_URLS=1)",
    );
  }
  const withCredentials = await checkUrl("https://user:pa55@api.example.com/");
  assert.ok(withCredentials.kind === "refused" && !withCredentials.reason.includes("pa55"));
});

Deno.test("checkUrl() names SLUICE_ALLOW_PRIVATE_URLS for local addresses, never for metadata", async () => {
  const local = await checkUrl("http://127.0.0.1:9000/hook");
  assert.ok(local.kind === "refused" && local.reason.includes("SLUICE_ALLOW_PRIVATE_URLS=1"));
  const metadata = await checkUrl("https://169.254.169.254/latest", { allowPrivate: true });
  assert.ok(metadata.kind === "refused" && !metadata.reason.includes("SLUICE_ALLOW_PRIVATE_URLS"));
});

Deno.test("checkUrl() does not resolve IP literals or local-only names", async () => {
  const dns = fakeResolver({});
  await checkUrl("https://8.8.8.8/", { resolve: dns.resolve });
  await checkUrl("https://localhost/", { resolve: dns.resolve });
  await checkUrl("https://metadata.google.internal/", { resolve: dns.resolve });
  assert.deepEqual(dns.lookups, []);
});

Deno.test("checkUrl() refuses when a lookup fails, naming the host", async () => {
  const failing: Resolver = (_hostname, recordType) =>
    recordType === "A" ? Promise.resolve(["8.8.8.8"]) : Promise.reject(new Error("timed out"));
  const check = await checkUrl("https://flaky.example.com/x", { resolve: failing });
  assert.deepEqual(check, {
    kind: "refused",
    code: "dns",
    reason:
      'Refused URL "https://flaky.example.com": resolving "flaky.example.com" failed: timed out',
  });
});

Deno.test("checkUrl() refuses on the second check when DNS rebinds to a private address", async () => {
  const answers = [["203.0.114.10"], ["127.0.0.1"]];
  let calls = 0;
  const rebinding: Resolver = (_hostname, recordType) => {
    if (recordType === "AAAA") return Promise.resolve([]);
    return Promise.resolve(answers[Math.min(calls++, answers.length - 1)] ?? []);
  };
  const first = await checkUrl("https://rebind.example.net/", { resolve: rebinding });
  assert.equal(first.kind, "ok");
  const second = await checkUrl("https://rebind.example.net/", { resolve: rebinding });
  assert.equal(second.kind, "refused");
  if (second.kind === "refused") {
    assert.equal(second.code, "address");
    assert.match(second.reason, /resolves to 127\.0\.0\.1, which is loopback/);
  }
});

Deno.test("checkUrl() accepts plain http and private hosts when allowPrivate", async () => {
  const dns = fakeResolver({});
  for (
    const url of [
      "http://127.0.0.1:8080/hook",
      "http://localhost:3000/",
      "https://10.0.0.1/",
      "http://[::1]:9000/",
      "http://private.example.com/",
      "http://intranet/",
    ]
  ) {
    const check = await checkUrl(url, { allowPrivate: true, resolve: dns.resolve });
    assert.equal(check.kind, "ok", url);
  }
  assert.deepEqual(dns.lookups, [], "allowPrivate skips DNS");
});

Deno.test("checkUrl() still refuses metadata, credentials and other schemes when allowPrivate", async () => {
  const cases: [string, string][] = [
    ["http://169.254.169.254/latest/meta-data/", "address"],
    ["http://[::ffff:169.254.169.254]/", "address"],
    ["http://[fd00:ec2::254]/", "address"],
    ["http://metadata.google.internal/", "host"],
    ["http://user:pw@127.0.0.1/", "credentials"],
    ["ftp://127.0.0.1/", "scheme"],
    ["http://127.0.0.1:0/", "port"],
  ];
  for (const [url, code] of cases) {
    const check = await checkUrl(url, { allowPrivate: true });
    assert.ok(check.kind === "refused" && check.code === code, url);
  }
});

Deno.test("assertPublicUrl() returns the accepted URL and throws UnsafeUrlError on refusal", async () => {
  const ok = await assertPublicUrl("https://v4only.example.com/x", { resolve: DNS.resolve });
  assert.equal(ok.url.href, "https://v4only.example.com/x");
  assert.deepEqual(ok.addresses, ["8.8.8.8"]);
  await assert.rejects(
    () => assertPublicUrl("https://192.168.1.1/", { resolve: DNS.resolve }),
    (error: unknown) =>
      error instanceof UnsafeUrlError && error.code === "address" &&
      error.message.includes('"https://192.168.1.1"'),
  );
});

Deno.test("addressRefusal() returns undefined only for public unicast addresses", () => {
  assert.equal(addressRefusal("1.1.1.1"), undefined);
  assert.equal(addressRefusal("2a00:1450:4001:82b::200e"), undefined);
  assert.equal(addressRefusal("172.32.0.1"), undefined);
  assert.equal(addressRefusal("172.15.255.255"), undefined);
  assert.equal(addressRefusal("100.128.0.1"), undefined);
  assert.equal(addressRefusal("100.127.255.255"), "carrier-grade NAT (100.64.0.0/10)");
  assert.equal(addressRefusal("::ffff:8.8.8.8"), undefined);
  assert.equal(addressRefusal("fe80::1%eth0"), "link-local (fe80::/10)");
  assert.equal(addressRefusal("example.com"), "not an IP address");
});

Deno.test("checkUrl() refuses port 0 with a reason naming the port, before any lookup", async () => {
  const dns = fakeResolver({ "api.example.com": { A: ["8.8.8.8"] } });
  const check = await checkUrl("https://api.example.com:0/hook?token=secret", {
    resolve: dns.resolve,
  });
  assert.deepEqual(check, {
    kind: "refused",
    code: "port",
    reason:
      'Refused URL "https://api.example.com:0": port 0 is reserved; use a port from 1 to 65535',
  });
  assert.deepEqual(dns.lookups, []);
});
