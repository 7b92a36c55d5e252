import assert from "node:assert/strict";
import {
  omitEmpty,
  omitEmptyAndEmptyArrays,
  omitUndefined,
  trimmedText,
  uniqueDefined,
  untrimmedText,
} from "./_records.ts";

const RECORD = {
  a: "x",
  b: undefined,
  c: "",
  d: [],
  e: 0,
  f: false,
  g: null,
  h: " ",
  i: {},
  j: ["y"],
};

Deno.test("omitUndefined(), omitEmpty() and omitEmptyAndEmptyArrays() drop what they name, no more", () => {
  const variants = [
    [omitUndefined, ["a", "c", "d", "e", "f", "g", "h", "i", "j"]],
    [omitEmpty, ["a", "d", "e", "f", "g", "h", "i", "j"]],
    [omitEmptyAndEmptyArrays, ["a", "e", "f", "g", "h", "i", "j"]],
  ] as const;
  for (const [omit, kept] of variants) {
    const out: Record<string, unknown> = omit(RECORD);
    assert.deepEqual(Object.keys(out), kept, omit.name);
    for (const key of kept) assert.equal(out[key], RECORD[key], `${omit.name} ${key}`);
  }
});

Deno.test("omitEmpty() keeps the order of the fields it keeps", () => {
  const kept = omitEmpty({ z: 1, y: "", x: 2, w: undefined, v: 3 });
  assert.deepEqual(Object.keys(kept), ["z", "x", "v"]);
  assert.equal(JSON.stringify(kept), '{"z":1,"x":2,"v":3}');
});

Deno.test("trimmedText() trims strings with content and refuses blanks and non-strings", () => {
  assert.equal(trimmedText("  Acme Corp \n"), "Acme Corp");
  assert.equal(trimmedText("Acme"), "Acme");
  for (const value of ["", "   ", "\t\n", undefined, null, 3, true, ["a"], { a: "b" }]) {
    assert.equal(trimmedText(value), undefined, JSON.stringify(value));
  }
});

Deno.test("untrimmedText() gives strings with content as they are and refuses blanks and non-strings", () => {
  assert.equal(untrimmedText("  Acme Corp \n"), "  Acme Corp \n");
  assert.equal(untrimmedText("Acme"), "Acme");
  for (const value of ["", "   ", "\t\n", undefined, null, 3, true, ["a"], { a: "b" }]) {
    assert.equal(untrimmedText(value), undefined, JSON.stringify(value));
  }
});

Deno.test("uniqueDefined() drops undefined and repeats, keeping first appearances in order", () => {
  assert.deepEqual(uniqueDefined(["b", undefined, "a", "b", "", undefined, "a"]), ["b", "a", ""]);
  assert.deepEqual(uniqueDefined([undefined]), []);
  assert.deepEqual(uniqueDefined([]), []);
});
