/**
 * Folder-private country data: every ISO 3166-1 alpha-2 code, and for the countries
 * most events come from their alpha-3 code, common English (and native) names, the
 * international calling code and the national trunk prefix.
 */

/** Every officially assigned ISO 3166-1 alpha-2 code, lowercase. */
export const ALPHA2_CODES: ReadonlySet<string> = new Set(
  (
    "ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq " +
    "br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm " +
    "do dz ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs " +
    "gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn " +
    "kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq " +
    "mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm " +
    "pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv " +
    "sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi " +
    "vn vu wf ws ye yt za zm zw"
  ).split(" "),
);

/** One country row: alpha-2, alpha-3, calling code, trunk prefix ("" when none), names. */
type Row = readonly [
  alpha2: string,
  alpha3: string,
  callingCode: string,
  trunk: string,
  names: string,
];

// Names are lowercase, accents removed, punctuation dropped, "|"-separated.
const ROWS: readonly Row[] = [
  ["us", "usa", "1", "1", "united states|united states of america|america|usa|us"],
  ["ca", "can", "1", "1", "canada"],
  [
    "gb",
    "gbr",
    "44",
    "0",
    "united kingdom|great britain|britain|uk|england|scotland|wales|northern ireland",
  ],
  ["ie", "irl", "353", "0", "ireland|eire"],
  ["fr", "fra", "33", "0", "france"],
  ["de", "deu", "49", "0", "germany|deutschland"],
  ["at", "aut", "43", "0", "austria|osterreich"],
  ["ch", "che", "41", "0", "switzerland|schweiz|suisse|svizzera"],
  ["be", "bel", "32", "0", "belgium|belgique|belgie"],
  ["nl", "nld", "31", "0", "netherlands|the netherlands|holland|nederland"],
  ["lu", "lux", "352", "", "luxembourg"],
  ["es", "esp", "34", "", "spain|espana"],
  ["pt", "prt", "351", "", "portugal"],
  ["it", "ita", "39", "", "italy|italia"],
  ["gr", "grc", "30", "", "greece"],
  ["dk", "dnk", "45", "", "denmark|danmark"],
  ["no", "nor", "47", "", "norway|norge"],
  ["se", "swe", "46", "0", "sweden|sverige"],
  ["fi", "fin", "358", "0", "finland|suomi"],
  ["is", "isl", "354", "", "iceland"],
  ["pl", "pol", "48", "", "poland|polska"],
  ["cz", "cze", "420", "", "czech republic|czechia"],
  ["sk", "svk", "421", "0", "slovakia"],
  ["hu", "hun", "36", "06", "hungary|magyarorszag"],
  ["ro", "rou", "40", "0", "romania"],
  ["bg", "bgr", "359", "0", "bulgaria"],
  ["hr", "hrv", "385", "0", "croatia|hrvatska"],
  ["si", "svn", "386", "0", "slovenia"],
  ["rs", "srb", "381", "0", "serbia"],
  ["ee", "est", "372", "", "estonia"],
  ["lv", "lva", "371", "", "latvia"],
  ["lt", "ltu", "370", "8", "lithuania"],
  ["ua", "ukr", "380", "0", "ukraine"],
  ["ru", "rus", "7", "8", "russia|russian federation"],
  ["tr", "tur", "90", "0", "turkey|turkiye"],
  ["il", "isr", "972", "0", "israel"],
  ["ae", "are", "971", "0", "united arab emirates|uae"],
  ["sa", "sau", "966", "0", "saudi arabia"],
  ["eg", "egy", "20", "0", "egypt"],
  ["ma", "mar", "212", "0", "morocco"],
  ["za", "zaf", "27", "0", "south africa"],
  ["ng", "nga", "234", "0", "nigeria"],
  ["ke", "ken", "254", "0", "kenya"],
  ["in", "ind", "91", "0", "india"],
  ["pk", "pak", "92", "0", "pakistan"],
  ["bd", "bgd", "880", "0", "bangladesh"],
  ["cn", "chn", "86", "0", "china|peoples republic of china"],
  ["hk", "hkg", "852", "", "hong kong"],
  ["tw", "twn", "886", "0", "taiwan"],
  ["jp", "jpn", "81", "0", "japan"],
  ["kr", "kor", "82", "0", "south korea|korea|republic of korea"],
  ["sg", "sgp", "65", "", "singapore"],
  ["my", "mys", "60", "0", "malaysia"],
  ["th", "tha", "66", "0", "thailand"],
  ["vn", "vnm", "84", "0", "vietnam|viet nam"],
  ["ph", "phl", "63", "0", "philippines"],
  ["id", "idn", "62", "0", "indonesia"],
  ["au", "aus", "61", "0", "australia"],
  ["nz", "nzl", "64", "0", "new zealand|aotearoa"],
  ["mx", "mex", "52", "", "mexico"],
  ["br", "bra", "55", "0", "brazil|brasil"],
  ["ar", "arg", "54", "0", "argentina"],
  ["cl", "chl", "56", "", "chile"],
  ["co", "col", "57", "", "colombia"],
  ["pe", "per", "51", "0", "peru"],
];

/** A country as the PII normalisers need it. */
export interface CountryInfo {
  alpha2: string;
  callingCode: string;
  trunkPrefix: string;
}

const BY_KEY = new Map<string, CountryInfo>();
const BY_ALPHA2 = new Map<string, CountryInfo>();
for (const [alpha2, alpha3, callingCode, trunkPrefix, names] of ROWS) {
  const info = { alpha2, callingCode, trunkPrefix };
  BY_ALPHA2.set(alpha2, info);
  BY_KEY.set(alpha3, info);
  for (const name of names.split("|")) BY_KEY.set(name, info);
}

/** Lowercase, accents folded, punctuation dropped, whitespace collapsed: the lookup key. */
export function countryKey(value: string): string {
  return value.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, "").replace(/\s+/g, " ").trim();
}

/**
 * The alpha-2 code (lowercase) for a code or name, or undefined when unknown. A 2-letter
 * value is a code only when it is letters (and dots) alone.
 */
export function lookupAlpha2(value: string): string | undefined {
  const key = countryKey(value);
  // Only letters (and dots: `U.K.`) read as a code: `N/A` is not Namibia.
  const codeLike = key.length === 2 && /^[\p{L}.\s]+$/u.test(value.trim());
  if (codeLike && key === "uk") return "gb";
  if (codeLike && ALPHA2_CODES.has(key)) return key;
  return BY_KEY.get(key)?.alpha2;
}

/** Calling code and trunk prefix for an alpha-2 code, when the table has the country. */
export function countryInfo(alpha2: string): CountryInfo | undefined {
  return BY_ALPHA2.get(alpha2);
}
