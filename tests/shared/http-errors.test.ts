/** The one error answer every HTTP server of ours gives when a handler throws. */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { httpServerErrors } from "../../stages/shared/http-errors";

const REPO = join(import.meta.dir, "../..");

test("a throw in a handler is a short JSON 500 for the client and the reason for the operator", async () => {
  const reported: string[] = [];
  const server = Bun.serve({
    ...httpServerErrors((message) => reported.push(message)),
    port: 0,
    hostname: "127.0.0.1",
    fetch: async () => {
      throw new Error(`ENAMETOOLONG: name too long, open '${REPO}/schemas/x'`);
    },
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/anything`);
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.text()).toBe('{"message":"Internal error"}');
    expect(reported).toEqual([`request failed: ENAMETOOLONG: name too long, open '${REPO}/schemas/x'`]);
  } finally {
    await server.stop(true);
  }
});

test("every Bun.serve in cli/ and stages/ answers errors through httpServerErrors", () => {
  const sources = ["cli", "stages"].flatMap((folder) =>
    (readdirSync(join(REPO, folder), { recursive: true }) as string[]).filter((name) => name.endsWith(".ts")).map((name) => join(REPO, folder, name)),
  );
  const servers = sources.filter((file) => readFileSync(file, "utf8").includes("Bun.serve("));
  expect(servers.length).toBeGreaterThanOrEqual(2);
  const without = servers.filter((file) => !/Bun\.serve\(\{\s*\.\.\.httpServerErrors\(/.test(readFileSync(file, "utf8")));
  expect(without.map((file) => relative(REPO, file))).toEqual([]);
});
