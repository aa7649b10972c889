/**
 * What every bench script measures the same way. Kept in lib/, which `make bench` does not run (it runs
 * the .ts files directly in scripts/bench/).
 */
import { readFileSync } from "node:fs";

/** Peak RSS of a live process so far (VmHWM), in MB; 0 once it has gone. */
export function peakRssMb(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The median of the rounds (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
