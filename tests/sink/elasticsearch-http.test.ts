/** The Elasticsearch connection's decisions that need no cluster: startup verdicts, URL checks, failover. */
import { describe, expect, test } from "bun:test";
import { classifyStartupAnswer, ElasticsearchHttp } from "../../stages/sink/elasticsearch";
import { identifyEngine } from "../../stages/sink/engine";
import { StoreConfigError } from "../../stages/sink/sink";
import { freePort } from "./helpers";

const where = "Elasticsearch at http://es:9200";

describe("identifyEngine", () => {
  test("Elasticsearch by its header, its version from node info (the integ-test-zip has no GET /) or from GET /", () => {
    const nodes = { nodes: { abc: { version: "9.2.0" } } };
    expect(identifyEngine({ product: "Elasticsearch", root: { error: "Incorrect HTTP method" }, nodes })).toEqual({ flavour: "elasticsearch", version: "9.2.0" });
    expect(identifyEngine({ product: "Elasticsearch", root: { version: { number: "8.19.21" } } })).toEqual({ flavour: "elasticsearch", version: "8.19.21" });
  });

  test("OpenSearch by GET /'s distribution; anything else is neither", () => {
    const root = { version: { distribution: "opensearch", number: "2.19.6" } };
    expect(identifyEngine({ product: null, root })).toEqual({ flavour: "opensearch", version: "2.19.6" });
    expect(identifyEngine({ product: null, root: { status: "green" } })).toBeNull();
    expect(identifyEngine({ product: null, root: { version: { number: "7.10.2" } } })).toBeNull();
  });
});

describe("classifyStartupAnswer", () => {
  test("a cluster that is down or busy is waited for", () => {
    expect(classifyStartupAnswer({ code: "ECONNREFUSED", message: "refused" }, where).kind).toBe("wait");
    expect(classifyStartupAnswer({ code: "TimeoutError", message: "timed out" }, where).kind).toBe("wait");
    expect(classifyStartupAnswer({ status: 503, message: "master_not_discovered_exception" }, where).kind).toBe("wait");
  });

  test("a health answer is ready whoever gave it; which engine it is, identifyEngine says next", () => {
    expect(classifyStartupAnswer({ status: 200, product: "Elasticsearch", message: "" }, where)).toEqual({ kind: "ready" });
    expect(classifyStartupAnswer({ status: 200, product: null, message: "" }, where)).toEqual({ kind: "ready" });
  });

  test("wrong host, TLS mismatch, credentials and strangers are the user's to fix", () => {
    const sentence = (answer: Parameters<typeof classifyStartupAnswer>[0]) => {
      const verdict = classifyStartupAnswer(answer, where);
      return verdict.kind === "fatal" ? verdict.sentence : verdict.kind;
    };
    expect(sentence({ code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND es" })).toStartWith("cannot find the host");
    expect(sentence({ code: "EPROTO", message: "TLS handshake failed" })).toStartWith("cannot make a TLS connection");
    expect(sentence({ code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: "self signed" })).toStartWith("cannot make a TLS connection");
    expect(sentence({ status: 401, message: "security_exception" })).toContain("refused the credentials (401)");
    expect(sentence({ status: 403, message: "security_exception" })).toContain("refused access (403)");
    expect(sentence({ status: 404, message: "HTTP 404" })).toContain("does not look like Elasticsearch");
  });
});

describe("ElasticsearchHttp", () => {
  test("refuses what is not an http(s) URL", () => {
    expect(() => new ElasticsearchHttp({ urls: ["localhost:9200"] })).toThrow(StoreConfigError);
    expect(() => new ElasticsearchHttp({ urls: ["ftp://es"] })).toThrow(/not an http/);
    expect(() => new ElasticsearchHttp({ urls: [] })).toThrow(/no Elasticsearch URL/);
  });

  test("sends basic auth or an API key, and moves past a node whose connection failed", async () => {
    const seen: (string | null)[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) => {
        seen.push(request.headers.get("authorization"));
        return Response.json({ ok: true }, { headers: { "x-elastic-product": "Elasticsearch" } });
      },
    });
    try {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const live = `http://127.0.0.1:${server.port}`;
      const basic = new ElasticsearchHttp({ urls: [dead, live], username: "elastic", password: "secret" });
      const first = await basic.request("GET", "/");
      expect(first.status).toBeUndefined();
      expect(first.code).toBe("ECONNREFUSED");
      expect((await basic.request("GET", "/")).status).toBe(200);
      // The dead node is skipped for a while, so the next requests go to the live one.
      expect((await basic.request("GET", "/")).status).toBe(200);
      const keyed = new ElasticsearchHttp({ urls: [live], apiKey: "aWQ6a2V5" });
      await keyed.request("GET", "/");
      expect(seen).toEqual([`Basic ${btoa("elastic:secret")}`, `Basic ${btoa("elastic:secret")}`, "ApiKey aWQ6a2V5"]);
    } finally {
      server.stop(true);
    }
  });
});
