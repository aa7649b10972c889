/**
 * Per-stage counters, reported on stderr for people watching a pipeline: what came in, what went out,
 * what became a bad row, per second over the last interval.
 */
export class StageCounters {
  in = 0;
  out = 0;
  bad = 0;
  private last = { in: 0, out: 0, bad: 0, at: Date.now() };

  /** A line such as `in 1200/s out 1190/s bad 10/s (total in 52000 out 51800 bad 200)`. */
  report(now = Date.now()): string {
    const seconds = Math.max((now - this.last.at) / 1000, 0.001);
    const rate = (current: number, previous: number) => perSecond((current - previous) / seconds);
    const line =
      `in ${rate(this.in, this.last.in)}/s out ${rate(this.out, this.last.out)}/s ` +
      `bad ${rate(this.bad, this.last.bad)}/s (${this.totals()})`;
    this.last = { in: this.in, out: this.out, bad: this.bad, at: now };
    return line;
  }

  /** `total in 52000 out 51800 bad 200`: the closing words of a stage that stops. */
  totals(): string {
    return `total in ${this.in} out ${this.out} bad ${this.bad}`;
  }

  /** Prints a report every `seconds` while anything changed; returns a function that stops it. */
  startReporting(seconds: number, print: (line: string) => void): () => void {
    if (!(seconds > 0)) return () => {};
    const timer = setInterval(() => {
      if (this.in !== this.last.in || this.out !== this.last.out || this.bad !== this.last.bad) {
        print(this.report());
      }
    }, seconds * 1000);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * A rate as people read it: whole numbers from 10 up, and below that two significant digits, so three
 * events in ten seconds read 0.3/s rather than 0/s. Only no traffic at all reads 0.
 */
export function perSecond(rate: number): string {
  if (rate === 0) return "0";
  if (rate >= 10) return String(Math.round(rate));
  return String(Number(rate.toPrecision(rate >= 1 ? 2 : 1)));
}
