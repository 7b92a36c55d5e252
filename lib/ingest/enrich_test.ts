import assert from "node:assert/strict";
import {
  browserIdsFromCookies,
  clickIdsFromCookies,
  clickIdsFromUrl,
  completePage,
  fbcFromFbclid,
  parseCookieHeader,
  parsePageUrl,
  utmFromUrl,
} from "./enrich.ts";

Deno.test("parsePageUrl() parses absolute http and https URLs", () => {
  assert.equal(parsePageUrl("https://shop.example/a?b=1")?.href, "https://shop.example/a?b=1");
  assert.equal(parsePageUrl("http://shop.example")?.href, "http://shop.example/");
});

Deno.test("parsePageUrl() returns undefined when the URL is not absolute http(s)", () => {
  assert.equal(parsePageUrl(undefined), undefined);
  assert.equal(parsePageUrl(""), undefined);
  assert.equal(parsePageUrl("/checkout?gclid=x"), undefined);
  assert.equal(parsePageUrl("javascript:alert(1)"), undefined);
  assert.equal(parsePageUrl("ftp://shop.example/file"), undefined);
  assert.equal(parsePageUrl("data:text/html,hi"), undefined);
  assert.equal(parsePageUrl("not a url"), undefined);
});

Deno.test("clickIdsFromUrl() finds all eleven click ids with values byte-exact", () => {
  const url = new URL(
    "https://shop.example/?fbclid=IwAR_Fb-1&gclid=Cj0KCQ_Gc&gbraid=GbR&wbraid=WbR&ttclid=TtC" +
      "&ScCid=SnAp-9&epik=dj0yJnU&rdt_cid=RdT&msclkid=MsC&li_fat_id=LiF&twclid=TwC&other=x",
  );
  assert.deepEqual(clickIdsFromUrl(url), {
    fbclid: "IwAR_Fb-1",
    gclid: "Cj0KCQ_Gc",
    gbraid: "GbR",
    wbraid: "WbR",
    ttclid: "TtC",
    sccid: "SnAp-9",
    epik: "dj0yJnU",
    rdt_cid: "RdT",
    msclkid: "MsC",
    li_fat_id: "LiF",
    twclid: "TwC",
  });
});

Deno.test("clickIdsFromUrl() matches keys case-insensitively and keeps the first non-empty value", () => {
  const url = new URL("https://shop.example/?GCLID=&gclid=AbC%2Bd&gclid=second&SCCID=Up");
  assert.deepEqual(clickIdsFromUrl(url), { gclid: "AbC+d", sccid: "Up" });
});

Deno.test("clickIdsFromUrl() returns an empty object when there is no URL", () => {
  assert.deepEqual(clickIdsFromUrl(undefined), {});
  assert.deepEqual(clickIdsFromUrl(new URL("https://shop.example/?q=shoes")), {});
});

Deno.test("utmFromUrl() reads the five utm parameters", () => {
  const url = new URL(
    "https://shop.example/?utm_source=news&utm_medium=email&utm_campaign=Black%20Friday" +
      "&utm_term=shoes&utm_content=hero&utm_id=7",
  );
  assert.deepEqual(utmFromUrl(url), {
    source: "news",
    medium: "email",
    campaign: "Black Friday",
    term: "shoes",
    content: "hero",
  });
});

Deno.test("utmFromUrl() truncates values to 256 characters and skips empty ones", () => {
  const url = new URL(`https://shop.example/?utm_source=${"s".repeat(300)}&utm_medium=`);
  assert.deepEqual(utmFromUrl(url), { source: "s".repeat(256) });
});

Deno.test("utmFromUrl() returns undefined when no utm parameter is present", () => {
  assert.equal(utmFromUrl(new URL("https://shop.example/?gclid=1")), undefined);
  assert.equal(utmFromUrl(undefined), undefined);
});

Deno.test("completePage() fills path from the URL only when path is absent", () => {
  const url = new URL("https://shop.example/cart?x=1");
  assert.deepEqual(completePage({ url: url.href }, url), { url: url.href, path: "/cart" });
  assert.deepEqual(completePage({ url: url.href, path: "/own" }, url), {
    url: url.href,
    path: "/own",
  });
  assert.deepEqual(completePage({ title: "T" }, undefined), { title: "T" });
  assert.equal(completePage(undefined, url), undefined);
});

Deno.test("fbcFromFbclid() builds fb.1.<ms>.<fbclid> keeping the fbclid's case", () => {
  assert.equal(fbcFromFbclid("IwAR2xYz_AbC", 1_700_000_000_123), "fb.1.1700000000123.IwAR2xYz_AbC");
});

Deno.test("parseCookieHeader() splits pairs, trims, unquotes and decodes %-escapes", () => {
  const cookies = parseCookieHeader(' a=1; b = two ; c="quoted value"; d=%E2%82%AC%20x; e=');
  assert.deepEqual([...cookies], [
    ["a", "1"],
    ["b", "two"],
    ["c", "quoted value"],
    ["d", "€ x"],
    ["e", ""],
  ]);
});

Deno.test("parseCookieHeader() keeps the raw value when a %-escape is malformed", () => {
  const cookies = parseCookieHeader("bad=100%; worse=%E2%82; ok=%41");
  assert.equal(cookies.get("bad"), "100%");
  assert.equal(cookies.get("worse"), "%E2%82");
  assert.equal(cookies.get("ok"), "A");
});

Deno.test("parseCookieHeader() keeps the first of repeated names and skips pairs without =", () => {
  const cookies = parseCookieHeader("=nameless;_fbp=first; novalue; _fbp=second; x=a=b");
  assert.deepEqual([...cookies], [["_fbp", "first"], ["x", "a=b"]]);
});

// Regression (fixed): lib/enrich.ts parseCookieHeader() skips a nameless pair only when "=" is the
// very first character; after the usual "; " separator the pair " =nameless" has eq = 1,
// so it is stored under the empty name "" (RFC 6265 §5.2 says to ignore it).
Deno.test({
  name: "parseCookieHeader() skips a nameless pair when it follows a separator and space",
  fn() {
    const cookies = parseCookieHeader("a=1; =nameless");
    assert.deepEqual([...cookies], [["a", "1"]]);
  },
});

Deno.test("parseCookieHeader() returns an empty map for a missing header", () => {
  assert.equal(parseCookieHeader(null).size, 0);
  assert.equal(parseCookieHeader(undefined).size, 0);
  assert.equal(parseCookieHeader("").size, 0);
});

Deno.test("browserIdsFromCookies() mirrors every platform cookie", () => {
  const cookies = new Map([
    ["_fbp", "fb.1.1700000000000.123456789"],
    ["_fbc", "fb.1.1700000000000.IwAR"],
    ["_ga", "GA1.1.111.222"],
    ["_ttp", "TtP"],
    ["_scid", "ScId"],
    ["_epik", "EpIk"],
    ["_rdt_uuid", "1700000000000.uuid"],
    ["_uetmsclkid", "_uetMsC"],
    ["_gcl_aw", "GCL.1700000000.Cj0"],
    ["session", "ignored"],
  ]);
  assert.deepEqual(browserIdsFromCookies(cookies), {
    fbp: "fb.1.1700000000000.123456789",
    fbc: "fb.1.1700000000000.IwAR",
    ga: "GA1.1.111.222",
    ttp: "TtP",
    scid: "ScId",
    epik: "EpIk",
    rdt_uuid: "1700000000000.uuid",
    uet_msclkid: "_uetMsC",
    gcl_aw: "GCL.1700000000.Cj0",
  });
});

Deno.test("browserIdsFromCookies() reads the GA4 session id from a GS1 _ga_<ID> cookie", () => {
  const cookies = new Map([["_ga_ABC123", "GS1.1.1700000123.5.1.1700000999.0.0.0"]]);
  assert.deepEqual(browserIdsFromCookies(cookies), { ga_session_id: "1700000123" });
});

Deno.test("browserIdsFromCookies() reads the GA4 session id from a GS2 _ga_<ID> cookie", () => {
  const cookies = new Map([["_ga_XYZ", "GS2.1.s1700000456$o3$g1$t1700000999$j60$l0$h0"]]);
  assert.deepEqual(browserIdsFromCookies(cookies), { ga_session_id: "1700000456" });
});

Deno.test("browserIdsFromCookies() keeps the first readable _ga_ session and skips empty values", () => {
  const cookies = new Map([
    ["_ga_BAD", "garbage"],
    ["_ga_ONE", "GS1.1.111.1.1.1.0.0.0"],
    ["_ga_TWO", "GS2.1.s222$o1"],
    ["_fbp", ""],
  ]);
  assert.deepEqual(browserIdsFromCookies(cookies), { ga_session_id: "111" });
});

Deno.test("browserIdsFromCookies() ignores cookies named like Object.prototype members", () => {
  const cookies = parseCookieHeader("constructor=1; toString=2; __proto__=3; hasOwnProperty=4");
  assert.equal(cookies.size, 4);
  assert.deepEqual(browserIdsFromCookies(cookies), {});
});

Deno.test("browserIdsFromCookies() truncates values to 256 characters", () => {
  const ids = browserIdsFromCookies(new Map([["_fbp", "x".repeat(300)]]));
  assert.equal(ids.fbp, "x".repeat(256));
});

Deno.test("clickIdsFromCookies() mirrors LinkedIn's li_fat_id cookie and ignores the rest", () => {
  const cookies = new Map([["li_fat_id", "c9b4e2a1-li-fat"], ["_fbp", "fb.1.1.2"], ["x", "y"]]);
  assert.deepEqual(clickIdsFromCookies(cookies), { li_fat_id: "c9b4e2a1-li-fat" });
  assert.deepEqual(clickIdsFromCookies(new Map([["li_fat_id", ""]])), {});
});
