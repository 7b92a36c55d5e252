import ipaddr from "ipaddr.js";

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Finds the client IP of a request. Forwarding headers are believed only when the peer
 * is a configured trusted proxy; then `X-Forwarded-For` is walked from the right,
 * skipping trusted hops, and the first untrusted address is the client.
 */
export class ClientIpResolver {
  readonly #ranges: Range[];

  /** `trusted` holds IPs or CIDRs (`10.0.0.0/8`, `::1`); `loopback` and `private` are shortcuts. */
  constructor(trusted: readonly string[]) {
    this.#ranges = trusted.flatMap(expandRange);
  }

  /** The client IP given the peer address and the request headers. */
  resolve(peer: string | undefined, headers: Headers): string | undefined {
    if (!peer || !ipaddr.isValid(peer)) return peer;
    if (!this.#isTrusted(peer)) return normalize(peer);
    const hops = (headers.get("x-forwarded-for") ?? "").split(",").map((s) => s.trim())
      .filter((s) => ipaddr.isValid(s));
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!this.#isTrusted(hops[i]!)) return normalize(hops[i]!);
    }
    const real = headers.get("x-real-ip")?.trim();
    if (real && ipaddr.isValid(real)) return normalize(real);
    return hops[0] ? normalize(hops[0]) : peer;
  }

  #isTrusted(ip: string): boolean {
    if (this.#ranges.length === 0 || !ipaddr.isValid(ip)) return false;
    const address = ipaddr.process(ip);
    return this.#ranges.some(([range, bits]) =>
      range.kind() === address.kind() && address.match(range as never, bits)
    );
  }
}

function normalize(ip: string): string {
  return ipaddr.process(ip).toString();
}

function expandRange(text: string): Range[] {
  if (text === "loopback") return expandRange("127.0.0.0/8").concat(expandRange("::1/128"));
  if (text === "private") {
    return ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"].flatMap(expandRange);
  }
  try {
    if (text.includes("/")) return [ipaddr.parseCIDR(text)];
    const address = ipaddr.parse(text);
    return [[address, address.kind() === "ipv4" ? 32 : 128]];
  } catch {
    throw new Error(`Invalid SLUICE_TRUSTED_PROXIES entry "${text}": not an IP or CIDR`);
  }
}
