import assert from "node:assert/strict";
import { normalizeName } from "./name.ts";

Deno.test("normalizeName() lowercases, drops punctuation and keeps accents", () => {
  assert.equal(normalizeName("  Valéry "), "valéry");
  assert.equal(normalizeName("O'Brien"), "obrien");
  assert.equal(normalizeName("Jean-Luc"), "jeanluc");
  assert.equal(normalizeName("Mary Ann"), "mary ann");
  assert.equal(normalizeName("ZOË"), "zoë");
  assert.equal(normalizeName("Łukasz"), "łukasz");
  assert.equal(normalizeName("José"), normalizeName("Jose\u0301"));
  assert.equal(normalizeName("山田"), "山田");
});

Deno.test("normalizeName() keeps inner whitespace as given, as Meta's SDK does", () => {
  assert.equal(normalizeName(" Mary   Ann "), "mary   ann");
  assert.equal(normalizeName("Mary\tAnn"), "mary\tann");
});

Deno.test("normalizeName() drops values with nothing left", () => {
  assert.equal(normalizeName(" .-' "), undefined);
  assert.equal(normalizeName(""), undefined);
});
