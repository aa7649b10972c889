/**
 * A static Iglu registry over HTTP, laid out as Iglu Central is (`/schemas/<vendor>/<name>/<format>/<version>`),
 * served from a temporary folder on loopback, so tests of the remote path never reach the internet. It
 * counts the requests it answers and can be made to hang (accept, never answer) like a registry gone wrong.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const META = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#";

export interface StaticRegistry {
  /** The registry's root URL, as Iglu Central's `http://iglucentral.com`. */
  url: string;
  dir: string;
  /** Paths asked for, in order. */
  requests: string[];
  hang: boolean;
  /** Files a schema for `iglu:<vendor>/<name>/jsonschema/<version>` whose one required field `from` must be `marker`. */
  put(vendor: string, name: string, version: string, marker: string): void;
  stop(): Promise<void>;
}

export function startStaticRegistry(): StaticRegistry {
  const dir = mkdtempSync(join(tmpdir(), "iglu-static-"));
  const requests: string[] = [];
  const pending: (() => void)[] = [];
  const registry: StaticRegistry = {
    url: "",
    dir,
    requests,
    hang: false,
    put(vendor, name, version, marker) {
      const folder = join(dir, "schemas", vendor, name, "jsonschema");
      mkdirSync(folder, { recursive: true });
      const schema = {
        $schema: META,
        self: { vendor, name, format: "jsonschema", version },
        type: "object",
        properties: { from: { enum: [marker] } },
        required: ["from"],
        additionalProperties: false,
      };
      writeFileSync(join(folder, version), JSON.stringify(schema));
    },
    async stop() {
      pending.splice(0).forEach((release) => release());
      await server.stop(true);
    },
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const path = new URL(request.url).pathname;
      requests.push(path);
      // Held until the test stops the server: the client's timeout is what ends the request.
      if (registry.hang) await new Promise<void>((release) => pending.push(release));
      const file = Bun.file(join(dir, decodeURIComponent(path)));
      if (!path.startsWith("/schemas/") || path.includes("..") || !(await file.exists())) return new Response("not found", { status: 404 });
      return new Response(file, { headers: { "Content-Type": "application/json" } });
    },
  });
  registry.url = `http://127.0.0.1:${server.port}`;
  return registry;
}
