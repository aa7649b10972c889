/**
 * The layout rules from the design: stage logic never imports from cli/ (cli/ adapts stages to the
 * process, not the other way round), and no two modules import each other, directly or around a loop.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cycles, importGraph, type ImportGraph } from "./import-graph";

const root = join(import.meta.dir, "../..");
const graph = importGraph(root, ["cli", "stages", "scripts", "tests"]);

describe("module structure", () => {
  test("the graph is read: collect's CLI reaches the collector", () => {
    expect(graph.get("cli/commands/collect.ts")).toContain("stages/collect/collector.ts");
    // Type-only imports count too.
    expect(graph.get("stages/enrich/stage.ts")).toContain("stages/enrich/batch.ts");
  });

  test("no module under stages/ imports from cli/", () => {
    const offending = [...graph].flatMap(([from, targets]) =>
      from.startsWith("stages/") ? targets.filter((to) => to.startsWith("cli/")).map((to) => `${from} → ${to}`) : [],
    );
    expect(offending).toEqual([]);
  });

  test("no import cycles in cli/, stages/, scripts/ or tests/", () => {
    expect(cycles(graph)).toEqual([]);
  });

  test("the cycle finder finds loops of any length and self-imports, and nothing in a tree", () => {
    const loops: ImportGraph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a", "d"]],
      ["d", []],
      ["e", ["e"]],
    ]);
    expect(cycles(loops).sort()).toEqual([["a", "b", "c"], ["e"]]);
    expect(cycles(new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]]))).toEqual([]);
  });
});
