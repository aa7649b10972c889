import { Resolver } from "../../stages/iglu/resolver";
import { describe, expect, test } from "bun:test";
import type { EnrichedEvent } from "../../stages/enrich/event";
import { context, run, single } from "./helpers";

const CONFIG = "iglu:com.snowplowanalytics.snowplow.enrichments/pii_enrichment_config/jsonschema/2-0-1";
const SALT = "pepper123";
const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text + SALT).digest("hex");

const PARAMETERS = {
  pii: [
    { pojo: { field: "user_id" } },
    { pojo: { field: "user_ipaddress" } },
    { json: { field: "unstruct_event", schemaCriterion: "iglu:com.acme/signup/jsonschema/1-*-*", jsonPath: "$.['email', 'phone']" } },
    { json: { field: "contexts", schemaCriterion: "iglu:com.acme/customer/jsonschema/1-0-*", jsonPath: "$.emails" } },
  ],
  strategy: { pseudonymize: { hashFunction: "SHA-256", salt: SALT } },
};

function signupEvent(): Partial<EnrichedEvent> {
  return {
    event_id: "c6ef3124-b53a-4b13-a233-0088f79dcbcb",
    user_id: "jane@example.com",
    user_ipaddress: "203.0.113.9",
    unstruct_event: { schema: "iglu:com.acme/signup/jsonschema/1-0-2", data: { email: "jane@example.com", phone: "+44 20 7946 0000", plan: "pro" } },
    contexts: [
      { schema: "iglu:com.acme/customer/jsonschema/1-0-0", data: { emails: ["jane@example.com", "j@example.org"], tier: 2 } },
      { schema: "iglu:com.acme/customer/jsonschema/2-0-0", data: { emails: ["untouched@example.com"] } },
    ],
  };
}

describe("pii_enrichment_config", () => {
  test("atomic fields and JSONPath matches in matching schemas become salted SHA-256 hex", async () => {
    const { event, emitted } = await run(await single(CONFIG, PARAMETERS, { emitEvent: false }), context(signupEvent()));
    expect(emitted).toEqual([]);
    expect(event.user_id).toBe(sha256("jane@example.com"));
    expect(event.user_ipaddress).toBe(sha256("203.0.113.9"));
    expect(event.unstruct_event!.data).toEqual({ email: sha256("jane@example.com"), phone: sha256("+44 20 7946 0000"), plan: "pro" });
    expect(event.contexts[0]!.data).toEqual({ emails: [sha256("jane@example.com"), sha256("j@example.org")], tier: 2 });
    // 2-0-0 is outside the criterion 1-0-*.
    expect(event.contexts[1]!.data).toEqual({ emails: ["untouched@example.com"] });
  });

  test("emitEvent puts the pii_transformation event in the context's emitted list", async () => {
    const enrichment = await single(CONFIG, PARAMETERS, { emitEvent: true });
    const { emitted } = await run(enrichment, context(signupEvent()));
    expect(emitted).toHaveLength(1);
    expect(emitted[0]!.schema).toBe("iglu:com.snowplowanalytics.snowplow/pii_transformation/jsonschema/1-0-0");
    const data = emitted[0]!.data as { pii: { pojo: unknown[]; json: unknown[] }; strategy: unknown };
    expect(data.strategy).toEqual({ pseudonymize: { hashFunction: "SHA-256" } });
    expect(data.pii.pojo).toEqual([
      { fieldName: "user_id", originalValue: "jane@example.com", modifiedValue: sha256("jane@example.com") },
      { fieldName: "user_ipaddress", originalValue: "203.0.113.9", modifiedValue: sha256("203.0.113.9") },
    ]);
    expect(data.pii.json).toContainEqual({
      fieldMapping: {
        fieldName: "contexts",
        originalValue: "j@example.org",
        modifiedValue: sha256("j@example.org"),
        jsonPath: "$.emails",
        schema: "iglu:com.acme/customer/jsonschema/1-0-0",
      },
    });
    expect(data.pii.json).toHaveLength(4);
    // The event must be valid against pii_transformation 1-0-0, which wraps JSON replacements in fieldMapping.
    const outcome = await (await Resolver.load()).validate(emitted[0]!.schema, emitted[0]!.data);
    expect(outcome.ok ? "valid" : JSON.stringify(outcome.igluError)).toBe("valid");
  });

  test("anonymousOnly pseudonymises only requests that carried SP-Anonymous", async () => {
    const enrichment = await single(CONFIG, PARAMETERS, { emitEvent: false, anonymousOnly: true });
    const identified = await run(enrichment, context(signupEvent(), { headers: ["Host: c.example.com"] }));
    expect(identified.event.user_id).toBe("jane@example.com");
    const anonymous = await run(enrichment, context(signupEvent(), { headers: ["SP-Anonymous: *"] }));
    expect(anonymous.event.user_id).toBe(sha256("jane@example.com"));
  });

  test("entities derived earlier in the chain are pseudonymised too", async () => {
    const parameters = {
      pii: [{ json: { field: "derived_contexts", schemaCriterion: "iglu:org.ietf/http_cookie/jsonschema/1-*-*", jsonPath: "$.value" } }],
      strategy: { pseudonymize: { hashFunction: "SHA-256", salt: SALT } },
    };
    const ctx = context();
    ctx.derived.push({ schema: "iglu:org.ietf/http_cookie/jsonschema/1-0-0", data: { name: "sp", value: "secret-id" } });
    await run(await single(CONFIG, parameters, { emitEvent: false }), ctx);
    expect(ctx.derived[0]!.data).toEqual({ name: "sp", value: sha256("secret-id") });
  });

  test("a field Snowplow does not allow, and MD2 (not in this runtime), are config errors", async () => {
    await expect(single(CONFIG, { ...PARAMETERS, pii: [{ pojo: { field: "page_url" } }] }, { emitEvent: false })).rejects.toThrow(
      "parameters.pii[0].pojo.field must be one of user_id",
    );
    await expect(single(CONFIG, { ...PARAMETERS, strategy: { pseudonymize: { hashFunction: "MD2", salt: "" } } }, { emitEvent: false })).rejects.toThrow(
      "MD2 is not available in this runtime",
    );
  });
});
