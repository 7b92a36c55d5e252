import assert from "node:assert/strict";
import { LATENCY_BOUNDS_MS, latencyBin, percentileMs } from "./latency.ts";

Deno.test("latencyBin() puts a latency in the first bin whose bound holds it", () => {
  assert.equal(latencyBin(0), 0);
  assert.equal(latencyBin(250), 0);
  assert.equal(latencyBin(251), 1);
  assert.equal(latencyBin(7_000), 5);
  assert.equal(latencyBin(86_400_000), LATENCY_BOUNDS_MS.length);
});

Deno.test("percentileMs() interpolates inside the bin that holds the rank", () => {
  const bins = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
  bins[0] = 90; // ≤ 250 ms
  bins[3] = 10; // 1–2 s
  assert.equal(percentileMs(bins, 0.5), Math.round((50 / 90) * 250));
  // Rank 95 is the 5th of 10 in the 1000–2000 ms bin.
  assert.equal(percentileMs(bins, 0.95), 1500);
  const slow = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
  slow[LATENCY_BOUNDS_MS.length] = 1;
  assert.equal(percentileMs(slow, 0.95), 21_600_000, "the open bin's lower bound");
  assert.equal(percentileMs([0, 0], 0.95), null);
});
