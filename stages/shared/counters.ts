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
    const rate = (current: number, previous: number) => Math.round((current - previous) / seconds);
    const line =
      `in ${rate(this.in, this.last.in)}/s out ${rate(this.out, this.last.out)}/s ` +
      `bad ${rate(this.bad, this.last.bad)}/s (total in ${this.in} out ${this.out} bad ${this.bad})`;
    this.last = { in: this.in, out: this.out, bad: this.bad, at: now };
    return line;
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
