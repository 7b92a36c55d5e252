/**
 * Meta conformance: every value of tests/fixtures/meta/conformance/corpus.json is hashed by
 * Meta's official Node SDK (`ServerSideUtils.normalizeAndHash`, test-only import) and by
 * `metaUserData()`, field by field. The two must give the same hash, or both nothing,
 * except for the value classes in DEVIATIONS: there we follow Meta's documentation where
 * it asks for more than the SDK does, each class with its reason (docs/connectors/meta.md
 * lists them with examples). Any other difference fails.
 *
 * @module
 */
import assert from "node:assert/strict";
import { facebookSdk as sdk } from "../tests/_deps.ts";
import type { UserData } from "../core/event.ts";
import { metaUserData } from "./meta.ts";

/** The part of Meta's SDK this test calls (the package ships no types). */
interface ServerSideUtils {
  normalizeAndHash(input: string, field: string): string | null;
}
const { ServerSideUtils: metaSdk }: { ServerSideUtils: ServerSideUtils } = sdk;

const FAMILIES = [
  "email",
  "phone",
  "name",
  "city",
  "state",
  "zip",
  "country",
  "gender",
  "date_of_birth",
  "external_id",
] as const;

/** One field family of Meta's user_data. */
type Family = typeof FAMILIES[number];

/** One corpus value, with the user_data.country sent along (the hint our rules read). */
interface Entry {
  value: string;
  country?: string;
}

/** Where each family sits in a Sluice event, and the Meta key (the SDK's field name) it becomes. */
const FIELDS: Readonly<Record<Family, readonly { field: string; key: string }[]>> = {
  email: [{ field: "email", key: "em" }],
  phone: [{ field: "phone", key: "ph" }],
  name: [{ field: "first_name", key: "fn" }, { field: "last_name", key: "ln" }],
  city: [{ field: "city", key: "ct" }],
  state: [{ field: "state", key: "st" }],
  zip: [{ field: "zip", key: "zp" }],
  country: [{ field: "country", key: "country" }],
  gender: [{ field: "gender", key: "ge" }],
  date_of_birth: [{ field: "date_of_birth", key: "db" }],
  external_id: [{ field: "customer_id", key: "external_id" }],
};

/** A class of values where we differ from the SDK on purpose. */
interface Deviation {
  /** Named in docs/connectors/meta.md, which explains it with examples. */
  id: string;
  family: Family;
  reason: string;
  /** What we send for these values, where it is always the same: a hash, or nothing. */
  we?: "hash" | "nothing";
  matches(entry: Entry): boolean;
}

const MD5 = /^[a-f0-9]{32}$/i;
const US_OR_CA = /^(us|usa|united states( of america)?|ca|can|canada)$/i;
/** Characters Meta's SDK keeps in cities and states: all but digits, whitespace and `( ) . -`. */
const KEPT_BY_SDK = /[^\p{L}\p{M}\p{N}\s().-]/u;
const OTHER_DIGITS = /(?![0-9])\p{Nd}/u;

const md5Looking = (e: Entry) => MD5.test(e.value.trim());
const notNfc = (e: Entry) => e.value !== e.value.normalize("NFC");
const compatibility = (e: Entry) => e.value.normalize("NFKC") !== e.value.normalize("NFC");
const onlyStrippedBySdk = (e: Entry) => e.value.trim() !== "" && /^[0-9\s().-]+$/.test(e.value);
const usOrCanada = (e: Entry) => e.country === undefined || US_OR_CA.test(e.country.trim());

function international(value: string): boolean {
  const text = value.normalize("NFKC").trim().replace(/^tel:/i, "");
  return text.startsWith("+") || /^0\s*0/.test(text);
}

function phoneDigitCount(value: string): number {
  return value.normalize("NFKC").replace(/(ext\.?|extension|x|#)\s*\d+\s*$/i, "")
    .replace("(0)", "").replace(/\D/g, "").replace(/^0+/, "").length;
}

function validYyyymmdd(text: string): boolean {
  const [year, month, day] = [text.slice(0, 4), text.slice(4, 6), text.slice(6)].map(Number);
  if (year === undefined || month === undefined || day === undefined) return false;
  if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function md5Deviation(family: Family, we: "hash" | "nothing"): Deviation {
  return {
    id: `${family}.md5-looking`,
    family,
    reason: "The SDK passes any 32-hex value through as if hashed (MD5). Meta's docs take " +
      "SHA-256 only, so it could never match: we treat the value as text and " +
      (we === "hash" ? "hash it like any other." : "drop it, as it is no valid value."),
    we,
    matches: md5Looking,
  };
}

/** Every value class where we differ from Meta's SDK on purpose. */
const DEVIATIONS: readonly Deviation[] = [
  {
    id: "email.non-ascii",
    family: "email",
    reason: "Meta's rule is trim and lowercase; the SDK's validator knows ASCII addresses " +
      "only and refuses internationalised ones (RFC 6531) and fullwidth typing. We take " +
      "them, NFKC-folded.",
    we: "hash",
    matches: (e) => /[^ -~]/.test(e.value.trim()),
  },
  {
    id: "email.idn-top-level",
    family: "email",
    reason: "A top-level domain in punycode (`.xn--p1ai`, RFC 5890) is valid; the SDK's " +
      "pattern refuses hyphens there.",
    we: "hash",
    matches: (e) => /\.xn--[a-z0-9-]+$/i.test(e.value.trim()),
  },
  md5Deviation("email", "nothing"),
  {
    id: "phone.national-with-country",
    family: "phone",
    reason: "Meta's docs require the country code. A number without `+` or `00` is national " +
      "to user_data.country: we drop its trunk prefix and add that country's code; the SDK " +
      "hashes the digits as written. (So a foreign number written without `+` is read as " +
      "national to user_data.country.)",
    matches: (e) => e.country !== undefined && !international(e.value),
  },
  {
    id: "phone.national-without-country",
    family: "phone",
    reason: "Without `+`, `00` or a user_data.country there is no country code to add (and " +
      "Meta's docs require one): we send nothing; the SDK hashes the national digits.",
    we: "nothing",
    matches: (e) => e.country === undefined && !international(e.value),
  },
  {
    id: "phone.separators",
    family: "phone",
    reason: "Meta's docs: remove symbols. The SDK strips `- ( ) + space` and a few others " +
      "but keeps dots, slashes, Unicode dashes, a `tel:` colon and fullwidth digits.",
    we: "hash",
    matches: (e) => /[./\u2010-\u2015\u2212]|^\s*tel:/iu.test(e.value) || compatibility(e),
  },
  {
    id: "phone.extension",
    family: "phone",
    reason: "An extension is no part of the number: we drop it; the SDK drops the word but " +
      "appends its digits to the number.",
    we: "hash",
    matches: (e) => /(ext\.?|extension|x|#)\s*\d+\s*$/i.test(e.value),
  },
  {
    id: "phone.trunk-zero",
    family: "phone",
    reason: "`+44 (0)20 …`: the `(0)` is the national trunk prefix, which E.164 and Meta's " +
      "examples leave out; the SDK keeps it.",
    we: "hash",
    matches: (e) => e.value.includes("(0)"),
  },
  {
    id: "phone.impossible",
    family: "phone",
    reason: "International numbers E.164 cannot hold (under 7 or over 15 digits, or a `+1` " +
      "number that is not 11 digits) can match no one: we send nothing; the SDK takes 7 to " +
      "16 characters, zeros included.",
    we: "nothing",
    matches: (e) => {
      const count = phoneDigitCount(e.value);
      const first = e.value.normalize("NFKC").replace(/\D/g, "").replace(/^0+/, "")[0];
      return international(e.value) &&
        (count < 7 || count > 15 || (first === "1" && count !== 11));
    },
  },
  {
    id: "phone.other-scripts",
    family: "phone",
    reason: "Digits of other scripts (`١٢٣`) are not read as numbers: we send nothing; the " +
      "SDK hashes them as they are.",
    we: "nothing",
    matches: (e) => OTHER_DIGITS.test(e.value.normalize("NFKC")),
  },
  md5Deviation("phone", "nothing"),
  {
    id: "name.punctuation",
    family: "name",
    reason: "Meta's docs: lowercase with no punctuation (`O'Brien` → `obrien`). The SDK " +
      "only trims and lowercases names.",
    matches: (e) => /[\p{P}\p{S}]/u.test(e.value),
  },
  {
    id: "name.unicode-composition",
    family: "name",
    reason: "Accents are hashed in composed form (NFC), as in Meta's examples (`valéry`), so " +
      "the same name typed on different systems hashes the same; the SDK hashes the code " +
      "points it gets.",
    we: "hash",
    matches: notNfc,
  },
  md5Deviation("name", "hash"),
  {
    id: "city.punctuation",
    family: "city",
    reason: "Meta's docs: no punctuation, no special characters, no spaces. The SDK removes " +
      "only digits, whitespace and `( ) . -`, and keeps apostrophes, commas, slashes, " +
      "symbols and invisible characters.",
    we: "hash",
    matches: (e) => KEPT_BY_SDK.test(e.value),
  },
  {
    id: "city.other-digits",
    family: "city",
    reason: "Digits are removed from cities; the SDK removes ASCII digits only, not those of " +
      "other scripts (`٣`) or fullwidth ones.",
    we: "hash",
    matches: (e) => OTHER_DIGITS.test(e.value),
  },
  {
    id: "city.nothing-left",
    family: "city",
    reason: "A city of digits and punctuation only (`123`, `-`) leaves nothing: we send " +
      "nothing; the SDK hashes the empty string.",
    we: "nothing",
    matches: onlyStrippedBySdk,
  },
  {
    id: "city.unicode-composition",
    family: "city",
    reason: "Accents are hashed in composed form (NFC), as for names.",
    we: "hash",
    matches: notNfc,
  },
  md5Deviation("city", "hash"),
  {
    id: "state.names-to-codes",
    family: "state",
    reason: "Meta's docs: the 2-letter ANSI code (`California` → `ca`). In the US, Canada or " +
      "with no country, we map state and province names and common abbreviations (`Calif.`) " +
      "to codes, and with a US country drop what is no state; the SDK hashes the name.",
    matches: (e) => usOrCanada(e) && !/^\s*[a-z]{2}\s*$/i.test(e.value),
  },
  {
    id: "state.punctuation",
    family: "state",
    reason: "Meta's docs: no punctuation, no special characters, no spaces. The SDK removes " +
      "only digits, whitespace and `( ) . -`.",
    matches: (e) => KEPT_BY_SDK.test(e.value),
  },
  {
    id: "state.nothing-left",
    family: "state",
    reason: "A state of digits and punctuation only leaves nothing: we send nothing; the SDK " +
      "hashes the empty string.",
    we: "nothing",
    matches: onlyStrippedBySdk,
  },
  md5Deviation("state", "hash"),
  {
    id: "zip.us-five-digits",
    family: "zip",
    reason: "Meta's docs: only the first 5 digits of a US zip. The SDK cuts at a dash but " +
      "keeps `94025 1234` and `940251234` whole.",
    we: "hash",
    matches: (e) => usOrUnknown(e) && /^\s*\d{5}\s*\p{Pd}?\s*\d{4}\s*$/u.test(e.value),
  },
  {
    id: "zip.us-not-a-zip",
    family: "zip",
    reason: "With a US country, a value that is no 5-digit zip (`9402`, `ZIP 94025`) can " +
      "match no one: we send nothing; the SDK hashes it.",
    we: "nothing",
    matches: (e) => e.country !== undefined && /^(us|usa|united states)$/i.test(e.country),
  },
  {
    id: "zip.dash",
    family: "zip",
    reason: "Meta's docs: no spaces and no dash. Outside the US the SDK cuts the code at " +
      "its first dash (`00-950` → `00`, `100-0001` → `100`); we remove the dash and keep " +
      "both parts.",
    we: "hash",
    matches: (e) => /\p{Pd}/u.test(e.value),
  },
  {
    id: "zip.punctuation",
    family: "zip",
    reason: "Meta's docs: lowercase, no spaces, no dash; we drop every punctuation mark and " +
      "symbol (`#12345`, `〒`), which the SDK keeps.",
    we: "hash",
    matches: (e) => /[^\p{L}\p{N}\s\p{Pd}]/u.test(e.value),
  },
  {
    id: "zip.fullwidth",
    family: "zip",
    reason: "Fullwidth digits (`９４０２５`) fold to ASCII (NFKC); the SDK hashes them as typed.",
    we: "hash",
    matches: compatibility,
  },
  md5Deviation("zip", "hash"),
  {
    id: "country.names-and-alpha-3",
    family: "country",
    reason: "Meta's docs: the lowercase ISO 3166-1 alpha-2 code, always sent. We map country " +
      "names, alpha-3 codes and dotted forms (`United States`, `USA`, `U.S.`) to it; the SDK " +
      "refuses anything but an alpha-2 code.",
    we: "hash",
    matches: (e) => !/^\s*[a-z]{2}\s*$/i.test(e.value),
  },
  {
    id: "country.uk",
    family: "country",
    reason: "`UK` is the common name of the United Kingdom, whose ISO code is `gb`; the SDK " +
      "refuses it.",
    we: "hash",
    matches: (e) => /^\s*uk\s*$/i.test(e.value),
  },
  md5Deviation("country", "nothing"),
  {
    id: "gender.words",
    family: "gender",
    reason: "Plain words for the two genders Meta takes (`woman`, `man`, `girl`, `boy`, and " +
      "`w` as on German forms) map to `f`/`m`, as Meta's Parameter Builder also does; the " +
      "SDK knows only `female`/`f`/`male`/`m`.",
    we: "hash",
    matches: (e) =>
      ["woman", "man", "girl", "boy", "w"].includes(
        e.value.normalize("NFKC").toLowerCase().replace(/\P{L}/gu, ""),
      ),
  },
  {
    id: "gender.fullwidth",
    family: "gender",
    reason: "Fullwidth and circled letters (`ｆ`, `ⓕ`) fold to plain ones (NFKC); the SDK " +
      "drops every non-ASCII letter and finds nothing.",
    we: "hash",
    matches: compatibility,
  },
  md5Deviation("gender", "nothing"),
  {
    id: "date_of_birth.formats",
    family: "date_of_birth",
    reason: "Meta's docs: `YYYYMMDD`. We read dates in many formats (`1990-03-07`, " +
      "`March 7, 1990`, `07/03/1990` with the country's day/month order) and send " +
      "`19900307`, or nothing when unreadable or ambiguous; the SDK hashes the text as typed.",
    matches: (e) => !/^\s*\d{8}\s*$/.test(e.value),
  },
  {
    id: "date_of_birth.impossible",
    family: "date_of_birth",
    reason: "Eight digits that are no calendar date (`19903007`, `07031990`) match no one: we " +
      "send nothing; the SDK hashes them.",
    we: "nothing",
    matches: (e) => /^\s*\d{8}\s*$/.test(e.value) && !validYyyymmdd(e.value.trim()),
  },
  md5Deviation("date_of_birth", "nothing"),
  {
    id: "external_id.md5-looking",
    family: "external_id",
    reason: "The SDK passes a 32-hex id through unhashed, as if it were an MD5 hash; such ids " +
      "are usually dashless UUIDs. Meta recommends hashing external ids with SHA-256 and " +
      "keeping one format across channels, so we hash every id alike.",
    we: "hash",
    matches: md5Looking,
  },
];

function usOrUnknown(entry: Entry): boolean {
  return entry.country === undefined || /^(us|usa|united states)$/i.test(entry.country);
}

const corpus: { families: Record<Family, Entry[]> } = JSON.parse(
  Deno.readTextFileSync(new URL("../tests/fixtures/meta/conformance/corpus.json", import.meta.url)),
);

/** The SDK's hash, or undefined where it gives none or refuses the value (it throws). */
function sdkHash(value: string, key: string): string | undefined {
  try {
    return metaSdk.normalizeAndHash(value, key) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Our hash: what metaUserData() sends for the value (with its country hint) under `key`. */
function ourHash(entry: Entry, field: string, key: string): string | undefined {
  const user: UserData = { [field]: entry.value };
  if (entry.country !== undefined && field !== "country") user.country = entry.country;
  const sent = metaUserData(user, 0)[key];
  const hash = Array.isArray(sent) ? sent[0] : sent;
  return typeof hash === "string" ? hash : undefined;
}

function describe(entry: Entry, key: string, sdkSent: boolean, weSent: boolean): string {
  const hint = entry.country === undefined ? "" : ` (country ${JSON.stringify(entry.country)})`;
  return `${key} ${JSON.stringify(entry.value)}${hint}: SDK ${sdkSent ? "hash" : "nothing"}, ` +
    `we ${weSent ? "hash" : "nothing"}`;
}

Deno.test("the conformance corpus holds at least 200 values per field family", () => {
  for (const family of FAMILIES) {
    assert.ok(
      corpus.families[family].length >= 200,
      `${family}: ${corpus.families[family].length}`,
    );
  }
});

for (const family of FAMILIES) {
  Deno.test(`metaUserData() hashes ${family} values as Meta's SDK does, but for the listed deviations`, () => {
    const deviations = DEVIATIONS.filter((d) => d.family === family);
    const used = new Set<string>();
    const unexplained: string[] = [];
    let equal = 0;
    for (const entry of corpus.families[family]) {
      for (const { field, key } of FIELDS[family]) {
        const theirs = sdkHash(entry.value, key);
        const ours = ourHash(entry, field, key);
        if (ours === theirs) {
          equal++;
          continue;
        }
        const outcome = ours === undefined ? "nothing" : "hash";
        const explained = deviations.filter((d) =>
          d.matches(entry) && (d.we === undefined || d.we === outcome)
        );
        explained.forEach((d) => used.add(d.id));
        if (explained.length === 0) {
          unexplained.push(describe(entry, key, theirs !== undefined, ours !== undefined));
        }
      }
    }
    assert.deepEqual(unexplained, [], `${unexplained.length} differences from Meta's SDK`);
    assert.ok(equal > 0, `${family}: no value hashed alike`);
    const unused = deviations.map((d) => d.id).filter((id) => !used.has(id));
    assert.deepEqual(unused, [], "deviations no corpus value needs (remove them or add values)");
  });
}

Deno.test("every deviation is explained in docs/connectors/meta.md", () => {
  const doc = Deno.readTextFileSync(new URL("../docs/connectors/meta.md", import.meta.url));
  const ids = DEVIATIONS.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length, "deviation ids are unique");
  for (const deviation of DEVIATIONS) {
    assert.ok(doc.includes(`\`${deviation.id}\``), `${deviation.id} is not in the doc`);
    assert.ok(deviation.reason.length > 0);
  }
});
