/**
 * `make bench`: runs every scripts/bench/*.ts one after another (they share the machine, so never in
 * parallel), collects the JSON rows each prints, and shows one table of each stage beside its baseline.
 * Rows are also saved under bench/results/ so runs can be compared.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface BenchRow {
  area: string;
  metric: string;
  value: number;
  baseline_name?: string;
  baseline?: number;
  ratio?: number;
  peak_rss_mb?: number;
  target?: string;
}

const root = join(import.meta.dir, "..");
const benchDir = join(import.meta.dir, "bench");
const only = process.argv.slice(2);
const scripts = readdirSync(benchDir)
  .filter((name) => name.endsWith(".ts"))
  .filter((name) => only.length === 0 || only.includes(name.replace(/\.ts$/, "")))
  .sort();

const rows: BenchRow[] = [];
const failures: string[] = [];
for (const script of scripts) {
  process.stderr.write(`bench: running ${script}\n`);
  const child = Bun.spawn([process.execPath, join(benchDir, script)], {
    cwd: root,
    stdout: "pipe",
    stderr: "inherit",
  });
  const output = await new Response(child.stdout).text();
  const code = await child.exited;
  if (code !== 0) failures.push(`${script} exited ${code}`);
  for (const line of output.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      rows.push(JSON.parse(line) as BenchRow);
    } catch {
      failures.push(`${script} printed a row that is not JSON: ${line.slice(0, 80)}`);
    }
  }
}

const format = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? "" : n.toLocaleString("en-US", { maximumFractionDigits: digits });
const table = [
  ["area", "metric", "value", "baseline", "baseline value", "ratio", "peak RSS MB", "target"],
  ...rows.map((row) => [
    row.area,
    row.metric,
    format(row.value),
    row.baseline_name ?? "",
    format(row.baseline),
    format(row.ratio, 2),
    format(row.peak_rss_mb, 1),
    row.target ?? "",
  ]),
];
const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
for (const cells of table) console.log(cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));

const cpu = (await Bun.file("/proc/cpuinfo").text()).match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
console.log(`\n${cpu}, ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}`);
mkdirSync(join(root, "bench/results"), { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(join(root, "bench/results", `${stamp}.json`), JSON.stringify({ cpu, rows, failures }, null, 2));
for (const failure of failures) console.error(`bench: ${failure}`);
process.exit(failures.length > 0 ? 1 : 0);
