import assert from "node:assert/strict";
import { normalizeGender } from "./gender.ts";

Deno.test("normalizeGender() maps common words to f and m", () => {
  for (const word of ["female", "F", " Woman ", "f"]) {
    assert.equal(normalizeGender(word), "f", word);
  }
  for (const word of ["male", "M", "Man", " m "]) assert.equal(normalizeGender(word), "m", word);
});

Deno.test("normalizeGender() reads the letters alone, as Meta's SDK does", () => {
  for (const word of ["F.", " Fe-male ", "(f)", "F1", "ｆｅｍａｌｅ"]) {
    assert.equal(normalizeGender(word), "f", word);
  }
  for (const word of ["M.", "MALE!", "'m'"]) assert.equal(normalizeGender(word), "m", word);
});

Deno.test("normalizeGender() drops anything else", () => {
  for (const word of ["", "x", "non-binary", "other", "unknown", "fm", "she/her", "Mr."]) {
    assert.equal(normalizeGender(word), undefined, word);
  }
});
