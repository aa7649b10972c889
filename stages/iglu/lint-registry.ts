/**
 * `telemetry iglu lint PATH`: lints every file of a static registry (or one file) and says, per file,
 * what is wrong. Like igluctl, any finding of an enabled linter fails the file.
 */
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { lintSchema, type LintFinding } from "./lint";
import { schemaUri } from "./schema-key";
import { keyFromParts, schemaFiles } from "./static-layout";

export interface FileLint {
  file: string;
  /** The file's Iglu URI, when its place in the tree gives it one. */
  uri?: string;
  findings: LintFinding[];
}

export interface LintRunOptions {
  skipChecks?: ReadonlySet<string>;
  /** Iglu URIs of schemas to leave out. */
  skipSchemas?: ReadonlySet<string>;
}

export async function lintRegistry(path: string, options: LintRunOptions = {}): Promise<FileLint[]> {
  const { files } = await schemaFiles(path);
  const results: FileLint[] = [];
  for (const { file, parts } of files) {
    const key = keyFromParts(parts);
    const uri = "error" in key ? undefined : schemaUri(key);
    if (uri && options.skipSchemas?.has(uri)) continue;
    const findings: LintFinding[] = [];
    if ("error" in key) findings.push({ linter: "selfDescribing", level: "ERROR", pointer: "", message: `its place in the registry: ${key.error}` });
    let document: unknown;
    try {
      document = JSON.parse(await readFile(file, "utf8"));
    } catch (error) {
      findings.push({ linter: "selfDescribing", level: "ERROR", pointer: "", message: `not JSON: ${(error as Error).message}` });
      results.push({ file, uri, findings });
      continue;
    }
    findings.push(...lintSchema(document, { skipChecks: options.skipChecks, expectedKey: "error" in key ? undefined : key }));
    results.push({ file, uri, findings });
  }
  return results;
}

/** The report a person reads: one block per failing file, then totals. */
export function formatLintReport(results: FileLint[], cwd = process.cwd()): string {
  const lines: string[] = [];
  for (const result of results) {
    if (result.findings.length === 0) continue;
    const shown = relative(cwd, result.file);
    lines.push(`FAILURE: ${shown && !shown.startsWith("..") ? shown : result.file}${result.uri ? ` (${result.uri})` : ""}`);
    for (const finding of result.findings) {
      const where = finding.pointer ? ` at ${finding.pointer}` : "";
      lines.push(`  ${finding.level} [${finding.linter}]${where}: ${finding.message}`);
    }
  }
  const failed = results.filter((r) => r.findings.length > 0).length;
  lines.push(`${results.length - failed} schema(s) passed, ${failed} failed, ${results.length} checked`);
  return lines.join("\n") + "\n";
}
