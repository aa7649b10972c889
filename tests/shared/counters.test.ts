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
