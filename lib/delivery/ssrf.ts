/**
 * The guard against server-side request forgery: Sluice sends requests to URLs its users
 * type in (destination endpoints, webhooks), so before it does, the URL must point at the
 * public internet, not at the instance itself, its private network or a cloud metadata
 * service. Check when a URL is saved and again before every send (DNS answers change).
 *
 * @module
 */
import ipaddr from "ipaddr.js";

/** Looks up the addresses of a host name for one record type; `[]` when it has none. */
export type Resolver = (hostname: string, recordType: "A" | "AAAA") => Promise<readonly string[]>;

/** Options of {@linkcode checkUrl} and {@linkcode assertPublicUrl}. */
export interface UrlCheckOptions {
  /** `SLUICE_ALLOW_PRIVATE_URLS`: accept plain http and loopback/private hosts (local testing). */
  allowPrivate?: boolean;
  /** DNS lookup; defaults to {@linkcode resolveWithDeno}. */
  resolve?: Resolver;
}

/** Why a URL was refused, for callers that act on it (never branch on `reason`). */
export type UrlRefusalCode =
  | "invalid_url"
  | "scheme"
  | "credentials"
  | "port"
  | "host"
  | "address"
  | "dns";

/** The outcome of {@linkcode checkUrl}. */
export type UrlCheck =
  | {
    kind: "ok";
    url: URL;
    /**
     * The addresses the host had when checked (the literal itself for an IP host); empty
     * when `allowPrivate` skipped the lookup of a name.
     */
    addresses: readonly string[];
  }
  | { kind: "refused"; code: UrlRefusalCode; reason: string };

/** Thrown by {@linkcode assertPublicUrl} for a refused URL; `message` is the reason. */
export class UnsafeUrlError extends Error {
  readonly code: UrlRefusalCode;

  constructor(code: UrlRefusalCode, reason: string) {
    super(reason);
    this.name = "UnsafeUrlError";
    this.code = code;
  }
}

const DNS_TIMEOUT_MS = 5000;

/** The default {@linkcode Resolver}: `Deno.resolveDns` with a 5 s limit; "no such record" is `[]`. */
export async function resolveWithDeno(
  hostname: string,
  recordType: "A" | "AAAA",
): Promise<readonly string[]> {
  try {
    return await Deno.resolveDns(hostname, recordType, {
      signal: AbortSignal.timeout(DNS_TIMEOUT_MS),
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

type V4Block = [range: ipaddr.IPv4, bits: number, label: string];
type V6Block = [range: ipaddr.IPv6, bits: number, label: string];

function v4(cidr: string, label: string): V4Block {
  const [range, bits] = ipaddr.IPv4.parseCIDR(cidr);
  return [range, bits, `${label} (${cidr})`];
}

function v6(cidr: string, label: string): V6Block {
  const [range, bits] = ipaddr.IPv6.parseCIDR(cidr);
  return [range, bits, `${label} (${cidr})`];
}

// First match wins, so the specific metadata endpoints come before the ranges holding them.
const METADATA_V4: readonly V4Block[] = [
  v4("169.254.169.254/32", "a cloud metadata endpoint"),
  v4("169.254.170.2/32", "a cloud metadata endpoint"),
  v4("100.100.100.200/32", "a cloud metadata endpoint"),
  v4("192.0.0.192/32", "a cloud metadata endpoint"),
];
const METADATA_V6: readonly V6Block[] = [v6("fd00:ec2::254/128", "a cloud metadata endpoint")];

// IANA special-purpose registries (RFC 6890 and successors).
const BLOCKED_V4: readonly V4Block[] = [
  ...METADATA_V4,
  v4("0.0.0.0/8", "unspecified"),
  v4("10.0.0.0/8", "private"),
  v4("100.64.0.0/10", "carrier-grade NAT"),
  v4("127.0.0.0/8", "loopback"),
  v4("169.254.0.0/16", "link-local"),
  v4("172.16.0.0/12", "private"),
  v4("192.0.0.0/24", "reserved for IETF protocols"),
  v4("192.0.2.0/24", "documentation"),
  v4("192.88.99.0/24", "reserved (6to4 relay)"),
  v4("192.168.0.0/16", "private"),
  v4("198.18.0.0/15", "benchmarking"),
  v4("198.51.100.0/24", "documentation"),
  v4("203.0.113.0/24", "documentation"),
  v4("224.0.0.0/4", "multicast"),
  v4("255.255.255.255/32", "broadcast"),
  v4("240.0.0.0/4", "reserved"),
];

const BLOCKED_V6: readonly V6Block[] = [
  ...METADATA_V6,
  v6("::/128", "unspecified"),
  v6("::1/128", "loopback"),
  v6("64:ff9b:1::/48", "local-use NAT64"),
  v6("100::/64", "discard-only"),
  v6("2001::/32", "Teredo"),
  v6("2001:db8::/32", "documentation"),
  v6("3fff::/20", "documentation"),
  v6("fc00::/7", "unique-local"),
  v6("fe80::/10", "link-local"),
  v6("fec0::/10", "site-local"),
  v6("ff00::/8", "multicast"),
];

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");
const MAPPED_V6 = ipaddr.IPv6.parseCIDR("::ffff:0:0/96");
const NAT64_V6 = ipaddr.IPv6.parseCIDR("64:ff9b::/96");
const SIX_TO_FOUR_V6 = ipaddr.IPv6.parseCIDR("2002::/16");

/**
 * Why an IP address is not a public unicast address (e.g. `"private (10.0.0.0/8)"`), or
 * `undefined` when it is one. IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64
 * `64:ff9b::/96`, 6to4) are judged by that IPv4 address; anything that is not an IP is refused.
 */
export function addressRefusal(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return "not an IP address";
  const parsed = ipaddr.parse(address);
  return parsed instanceof ipaddr.IPv4 ? v4Refusal(parsed) : v6Refusal(parsed);
}

function v4Refusal(address: ipaddr.IPv4): string | undefined {
  const block = BLOCKED_V4.find(([range, bits]) => address.match(range, bits));
  if (block) return block[2];
  // Belt and braces: whatever ipaddr.js knows as special and the table above misses.
  const range = address.range();
  return range === "unicast" ? undefined : `special-purpose (${range})`;
}

function v6Refusal(address: ipaddr.IPv6): string | undefined {
  const bytes = address.toByteArray();
  const embedded = (from: number) => new ipaddr.IPv4(bytes.slice(from, from + 4));
  const carried = (label: string, inner: ipaddr.IPv4) => {
    const refusal = v4Refusal(inner);
    return refusal ? `the ${label} form of ${inner.toString()}, which is ${refusal}` : undefined;
  };
  if (address.match(MAPPED_V6)) return carried("IPv4-mapped", embedded(12));
  if (address.match(NAT64_V6)) return carried("NAT64", embedded(12));
  if (address.match(SIX_TO_FOUR_V6)) return carried("6to4", embedded(2));
  const block = BLOCKED_V6.find(([range, bits]) => address.match(range, bits));
  if (block) return block[2];
  if (!address.match(GLOBAL_UNICAST_V6)) return "not global unicast (outside 2000::/3)";
  const range = address.range();
  return range === "unicast" ? undefined : `special-purpose (${range})`;
}

/** Whether an address is a cloud metadata endpoint (refused even when `allowPrivate`). */
function isMetadataAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  return parsed instanceof ipaddr.IPv4
    ? METADATA_V4.some(([range, bits]) => parsed.match(range, bits))
    : METADATA_V6.some(([range, bits]) => parsed.match(range, bits));
}

// Names that stay inside the machine or the site whatever DNS says (RFC 6761, 6762, 8375,
// ICANN's .internal); single-label names go through resolver search domains.
const LOCAL_NAME_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".localdomain"];
const LOCAL_NAMES = new Set(["localhost", "localhost.localdomain", "home.arpa"]);
const METADATA_NAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);

function nameRefusal(name: string): string | undefined {
  if (LOCAL_NAMES.has(name)) return "a local-only name";
  if (LOCAL_NAME_SUFFIXES.some((suffix) => name.endsWith(suffix))) return "a local-only name";
  if (!name.includes(".")) return "a single-label name (resolved through local search domains)";
  return undefined;
}

/** Scheme, host and port only: never credentials, path or query, which may hold secrets. */
function display(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** Where a refusal could be lifted: only for local testing, never for metadata endpoints. */
const LOCAL_HINT = " (for local testing against your own machine, set SLUICE_ALLOW_PRIVATE_URLS=1)";

function refused(code: UrlRefusalCode, reason: string): UrlCheck {
  return { kind: "refused", code, reason };
}

/**
 * Checks that a URL is safe to send a request to: https (plain http only with
 * `allowPrivate`), no credentials, a port other than 0, and a host whose every address is public unicast. Names
 * are resolved (A and AAAA) through `options.resolve`; one non-public address is enough to
 * refuse, which defeats records mixing a public and a private address. Local-only names
 * (`localhost`, `*.localhost`, `*.internal`, …) are refused without a lookup.
 *
 * With `allowPrivate` (`SLUICE_ALLOW_PRIVATE_URLS=1`) plain http and loopback/private hosts
 * are accepted and names are not resolved; cloud metadata endpoints are still refused.
 *
 * Use it when a user saves a URL and again right before each request. Refusals are returned,
 * not thrown; the reason quotes the URL's scheme and host (never its path or query).
 */
export async function checkUrl(
  url: string | URL,
  options: UrlCheckOptions = {},
): Promise<UrlCheck> {
  const allowPrivate = options.allowPrivate ?? false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const text = String(url);
    const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    return refused("invalid_url", `Refused URL "${shown}": not an absolute URL`);
  }
  const shown = display(parsed);
  if (parsed.protocol !== "https:" && !(allowPrivate && parsed.protocol === "http:")) {
    const wanted = allowPrivate ? "https or http" : `https${LOCAL_HINT}`;
    return refused("scheme", `Refused URL "${shown}": scheme must be ${wanted}`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return refused("credentials", `Refused URL "${shown}": credentials in a URL are not allowed`);
  }
  // Port 0 is "any port" to a listener and no port to connect to (RFC 6335 §6: reserved).
  if (parsed.port === "0") {
    return refused(
      "port",
      `Refused URL "${shown}": port 0 is reserved; use a port from 1 to 65535`,
    );
  }

  const host = parsed.hostname;
  // WHATWG URL parsing already canonicalised IPv4 (0x7f.1 → 127.0.0.1) and bracketed IPv6.
  const literal = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (ipaddr.IPv4.isValidFourPartDecimal(literal) || ipaddr.IPv6.isValid(literal)) {
    if (allowPrivate) {
      return isMetadataAddress(literal)
        ? refused("address", `Refused URL "${shown}": ${literal} is a cloud metadata endpoint`)
        : { kind: "ok", url: parsed, addresses: [literal] };
    }
    const refusal = addressRefusal(literal);
    return refusal
      ? refused("address", `Refused URL "${shown}": address ${literal} is ${refusal}${LOCAL_HINT}`)
      : { kind: "ok", url: parsed, addresses: [literal] };
  }

  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (METADATA_NAMES.has(name)) {
    return refused("host", `Refused URL "${shown}": host "${name}" is a cloud metadata endpoint`);
  }
  if (allowPrivate) return { kind: "ok", url: parsed, addresses: [] };
  const nameProblem = nameRefusal(name);
  if (nameProblem) {
    return refused("host", `Refused URL "${shown}": host "${name}" is ${nameProblem}${LOCAL_HINT}`);
  }

  const resolve = options.resolve ?? resolveWithDeno;
  let addresses: string[];
  try {
    const [a, aaaa] = await Promise.all([resolve(host, "A"), resolve(host, "AAAA")]);
    addresses = [...a, ...aaaa];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return refused("dns", `Refused URL "${shown}": resolving "${name}" failed: ${message}`);
  }
  if (addresses.length === 0) {
    return refused("dns", `Refused URL "${shown}": host "${name}" has no A or AAAA record`);
  }
  for (const address of addresses) {
    const refusal = addressRefusal(address);
    if (refusal) {
      return refused(
        "address",
        `Refused URL "${shown}": host "${name}" resolves to ${address}, which is ${refusal}` +
          LOCAL_HINT,
      );
    }
  }
  return { kind: "ok", url: parsed, addresses };
}

/**
 * {@linkcode checkUrl} for callers that want an exception, such as the routes that save a
 * destination or webhook URL: returns the accepted check, throws {@linkcode UnsafeUrlError}.
 */
export async function assertPublicUrl(
  url: string | URL,
  options: UrlCheckOptions = {},
): Promise<{ url: URL; addresses: readonly string[] }> {
  const check = await checkUrl(url, options);
  if (check.kind === "refused") throw new UnsafeUrlError(check.code, check.reason);
  return { url: check.url, addresses: check.addresses };
}
