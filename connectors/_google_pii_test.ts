import assert from "node:assert/strict";
import {
  googleCity,
  googleEmail,
  googleName,
  googlePostalCode,
  googleRegion,
} from "./_google_pii.ts";

Deno.test("googleEmail() strips local-part dots only for gmail.com and googlemail.com", () => {
  assert.equal(googleEmail(" Jo.Smith@Gmail.com "), "josmith@gmail.com");
  assert.equal(googleEmail("j.o.smith+x@googlemail.com"), "josmith+x@googlemail.com");
  assert.equal(googleEmail("jo.smith@example.com"), "jo.smith@example.com");
  assert.equal(googleEmail("nope"), undefined);
});

Deno.test("googleName() also strips digits", () => {
  assert.equal(googleName("John3 "), "john");
  assert.equal(googleName("Renée!"), "renée");
  assert.equal(googleName("123"), undefined);
});

Deno.test("googleCity() keeps single spaces", () => {
  assert.equal(googleCity(" New   York 10001 "), "new york");
  assert.equal(googleCity("Zürich"), "zürich");
});

Deno.test("googleRegion() gives codes for US states, letters and spaces otherwise", () => {
  assert.equal(googleRegion("California", "US"), "ca");
  assert.equal(googleRegion("Baden-Württemberg", "DE"), "badenwürttemberg");
  assert.equal(googleRegion("New South Wales", "AU"), "new south wales");
});

Deno.test("googlePostalCode() strips dots and tildes only", () => {
  assert.equal(googlePostalCode(" 94025~"), "94025");
  assert.equal(googlePostalCode("M1 1AE."), "M1 1AE");
  assert.equal(googlePostalCode(" "), undefined);
});
