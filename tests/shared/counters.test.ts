import { expect, test } from "bun:test";
import { StageCounters } from "../../stages/shared/counters";

test("reports rates over the interval since the last report, and running totals", () => {
  const counters = new StageCounters();
  const start = Date.now();
  counters.in = 300;
  counters.out = 290;
  counters.bad = 10;
  counters.report(start); // resets the interval
  counters.in += 200;
  counters.out += 100;
  expect(counters.report(start + 2000)).toBe("in 100/s out 50/s bad 0/s (total in 500 out 390 bad 10)");
});

test("low rates read as decimals, not 0/s, and only no traffic reads 0", () => {
  const counters = new StageCounters();
  const start = Date.now();
  counters.report(start);
  counters.in = 3;
  counters.out = 1;
  expect(counters.report(start + 10_000)).toBe("in 0.3/s out 0.1/s bad 0/s (total in 3 out 1 bad 0)");
  counters.in += 1;
  expect(counters.report(start + 70_000)).toBe("in 0.02/s out 0/s bad 0/s (total in 4 out 1 bad 0)");
  counters.in += 25;
  expect(counters.report(start + 80_000)).toBe("in 2.5/s out 0/s bad 0/s (total in 29 out 1 bad 0)");
});
