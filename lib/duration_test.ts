import assert from "node:assert/strict";
import { parseDuration, parseDurationList } from "./duration.ts";

Deno.test("parseDuration() converts each unit to milliseconds", () => {
  const cases: [string, number][] = [
    ["100ms", 100],
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1.5s", 1500],
    [" 10s ", 10_000],
    ["0s", 0],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration() throws quoting the text when it is not a duration", () => {
  for (const text of ["10", "5 m", "-1s", "1w", "s", "", "1.s"]) {
    assert.throws(() => parseDuration(text), {
      message: `Cannot parse duration "${text}": use a number and ms, s, m, h or d`,
    }, text);
  }
});

Deno.test("parseDurationList() parses a comma-separated list, skipping blanks", () => {
  assert.deepEqual(parseDurationList("5s, 1m,5m,,30m, ", "X"), [5000, 60_000, 300_000, 1_800_000]);
  assert.deepEqual(parseDurationList("100ms,200ms", "X"), [100, 200]);
});

Deno.test("parseDurationList() throws naming the list when an entry is bad or it is empty", () => {
  assert.throws(() => parseDurationList("5s,soon", "SLUICE_WEBHOOK_RETRY_SCHEDULE"), {
    message: 'Invalid SLUICE_WEBHOOK_RETRY_SCHEDULE "5s,soon": ' +
      'Cannot parse duration "soon": use a number and ms, s, m, h or d',
  });
  assert.throws(() => parseDurationList(" , ", "SLUICE_DELIVERY_RETRY_SCHEDULE"), {
    message: 'Invalid SLUICE_DELIVERY_RETRY_SCHEDULE " , ": the list is empty',
  });
});
