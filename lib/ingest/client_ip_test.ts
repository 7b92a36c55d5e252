import assert from "node:assert/strict";
import { ClientIpResolver } from "./client_ip.ts";

function xff(value: string, extra: Record<string, string> = {}): Headers {
  return new Headers({ "x-forwarded-for": value, ...extra });
}

Deno.test("ClientIpResolver.resolve() returns the peer and ignores X-Forwarded-For when the peer is untrusted", () => {
  const resolver = new ClientIpResolver(["10.0.0.0/8"]);
  assert.equal(resolver.resolve("203.0.113.9", xff("1.2.3.4")), "203.0.113.9");
  assert.equal(
    resolver.resolve("203.0.113.9", new Headers({ "x-real-ip": "1.2.3.4" })),
    "203.0.113.9",
  );
  const none = new ClientIpResolver([]);
  assert.equal(none.resolve("127.0.0.1", xff("1.2.3.4")), "127.0.0.1");
  assert.equal(none.resolve(undefined, xff("1.2.3.4")), undefined);
});

Deno.test("ClientIpResolver.resolve() returns the rightmost untrusted hop behind a loopback proxy", () => {
  const resolver = new ClientIpResolver(["loopback"]);
  assert.equal(
    resolver.resolve("127.0.0.1", xff("6.6.6.6, 203.0.113.9, 127.0.0.5")),
    "203.0.113.9",
  );
  assert.equal(resolver.resolve("::1", xff("2001:db8::1")), "2001:db8::1");
});

Deno.test("ClientIpResolver.resolve() skips hops inside trusted CIDRs", () => {
  const resolver = new ClientIpResolver(["10.0.0.0/8", "192.168.1.7"]);
  assert.equal(
    resolver.resolve("10.1.2.3", xff("198.51.100.1, 203.0.113.9,10.9.9.9, 192.168.1.7")),
    "203.0.113.9",
  );
  assert.equal(resolver.resolve("192.168.1.8", xff("203.0.113.9")), "192.168.1.8");
});

Deno.test("ClientIpResolver.resolve() ignores hops that are not IP addresses", () => {
  const resolver = new ClientIpResolver(["private"]);
  assert.equal(
    resolver.resolve("172.16.0.1", xff("203.0.113.9, unknown, 1.2.3.4:80")),
    "203.0.113.9",
  );
});

Deno.test("ClientIpResolver.resolve() falls back to X-Real-IP, then the first hop, then the peer", () => {
  const resolver = new ClientIpResolver(["loopback", "10.0.0.0/8"]);
  assert.equal(
    resolver.resolve("127.0.0.1", xff("10.0.0.2", { "x-real-ip": "203.0.113.9" })),
    "203.0.113.9",
  );
  assert.equal(resolver.resolve("127.0.0.1", xff("10.0.0.2, 10.0.0.3")), "10.0.0.2");
  assert.equal(resolver.resolve("127.0.0.1", new Headers()), "127.0.0.1");
});

Deno.test("ClientIpResolver.resolve() normalises IPv4-mapped IPv6 addresses", () => {
  const resolver = new ClientIpResolver(["loopback"]);
  assert.equal(resolver.resolve("::ffff:127.0.0.1", xff("::ffff:203.0.113.9")), "203.0.113.9");
  assert.equal(resolver.resolve("127.0.0.1", xff("::ffff:cb00:7109")), "203.0.113.9");
});

// Regression (fixed): lib/client_ip.ts normalises addresses taken from X-Forwarded-For but returns
// the peer address as given: an untrusted IPv4-mapped peer "::ffff:203.0.113.9" (what a
// dual-stack listener reports) comes back as "::ffff:203.0.113.9", while the same client
// behind a proxy comes back as "203.0.113.9" — per-IP rate limits and client_ip differ.
Deno.test({
  name: "ClientIpResolver.resolve() normalises an IPv4-mapped peer when it is untrusted",
  fn() {
    const resolver = new ClientIpResolver(["loopback"]);
    assert.equal(resolver.resolve("::ffff:203.0.113.9", new Headers()), "203.0.113.9");
  },
});

Deno.test("ClientIpResolver() throws naming an invalid trusted-proxy entry", () => {
  assert.throws(() => new ClientIpResolver(["10.0.0.0/8", "proxy.internal"]), {
    name: "Error",
    message: 'Invalid SLUICE_TRUSTED_PROXIES entry "proxy.internal": not an IP or CIDR',
  });
  assert.throws(() => new ClientIpResolver(["10.0.0.0/33"]), {
    message: 'Invalid SLUICE_TRUSTED_PROXIES entry "10.0.0.0/33": not an IP or CIDR',
  });
});
