/**
 * Snowplow's official browser-tracker plugins, for real: @snowplow/browser-tracker with each plugin in
 * Debian's Chromium sends to `telemetry collect`, and `telemetry enrich` with its default configuration
 * enriches what was collected. Every event and entity the plugins send must validate against the embedded
 * registry: no bad rows, and Iglu Central never asked (it is a local stand-in here that counts requests, so
 * nothing reaches the internet, and a schema missing from the embedded registry would show as a request).
 * One page load per group of plugins (browser-plugins/page.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { startCollector, type RunningCollector } from "../collect/helpers";
import { CHROMIUM, CHROMIUM_ARGS } from "../fixtures/chromium";
import { startStaticRegistry, type StaticRegistry } from "../iglu/static-http-registry";
import { removeDir } from "../iglu/serve-process";
import { expectAllValid, keys, trackerEvents } from "./tracker-schemas";

const dir = mkdtempSync(join(tmpdir(), "browser-plugins-"));
let collector: RunningCollector;
let pageServer: ReturnType<typeof Bun.serve>;
let browser: Browser;
let igluCentral: StaticRegistry;

beforeAll(async () => {
  const bundle = await Bun.build({ entrypoints: [join(import.meta.dir, "browser-plugins/page.ts")], target: "browser" });
  if (!bundle.success) throw new AggregateError(bundle.logs, "bundling the page script failed");
  const script = await bundle.outputs[0]!.text();
  const html = `<!doctype html><title>plugins</title><link rel="icon" href="data:,"><body></body><script type="module" src="/page.js"></script>`;
  pageServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) =>
      new URL(request.url).pathname === "/page.js"
        ? new Response(script, { headers: { "Content-Type": "text/javascript" } })
        : new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } }),
  });
  collector = await startCollector(["--bad", join(dir, "collect-bad.ndjson")]);
  igluCentral = startStaticRegistry();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await pageServer?.stop(true);
  await igluCentral?.stop();
  if (collector) expect(await collector.stop()).toBe(0);
  removeDir(dir);
  if (igluCentral) removeDir(igluCentral.dir);
});

/** Loads the page for one group of plugins and returns the raw records collect wrote for it. */
async function collectGroup(group: string): Promise<string[]> {
  const before = collector.lines.length;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    const collectorUrl = encodeURIComponent(`http://localhost:${collector.port}`);
    await page.goto(`http://localhost:${pageServer.port}/?group=${group}&collector=${collectorUrl}`);
    const { failures } = await page.evaluate(() => window.pluginsDone);
    expect([...problems, ...failures]).toEqual([]);
  } finally {
    await context.close();
  }
  // Every request was answered before pluginsDone settled; its record may still be on its way to stdout.
  const closing = (line: string) => trackerEvents(line).some((event) => event.se_ac === "closing-event");
  for (let waited = 0; !collector.lines.slice(before).some(closing) && waited < 10_000; waited += 50) await Bun.sleep(50);
  return collector.lines.slice(before);
}

/** Runs one group through collect and enrich: every key expected sent, every key sent valid and enriched. */
async function expectGroup(group: string, expected: string[]) {
  return expectAllValid(await collectGroup(group), expected, dir, group, igluCentral);
}

const SP = "iglu:com.snowplowanalytics.snowplow";
const ECOM = "iglu:com.snowplowanalytics.snowplow.ecommerce";
const MEDIA = "iglu:com.snowplowanalytics.snowplow.media";
const EE = "iglu:com.google.analytics.enhanced-ecommerce";
const MOBILE = "iglu:com.snowplowanalytics.mobile";
const v = keys;

// A page load, a few dozen tracker requests, then enrich: several seconds on a busy machine.
const TIMEOUT_MS = 90_000;

describe("official browser-tracker plugins in Chromium → collect → enrich (defaults): no bad rows", () => {
  test("tracker core, site, link, form, button-click and error tracking; timezone, performance timing, client hints, GA cookies, privacy sandbox", async () => {
    await expectGroup("core", [
      ...v(SP, ["web_page", "site_search", "social_interaction", "timing", "focus_form", "change_form", "submit_form", "button_click"]),
      `${SP}/client_session/jsonschema/1-0-2`,
      `${SP}/browser_context/jsonschema/2-0-0`,
      `${SP}/link_click/jsonschema/1-0-1`,
      `${SP}/application_error/jsonschema/1-0-1`,
      "iglu:org.w3/PerformanceTiming/jsonschema/1-0-0",
      "iglu:org.w3/PerformanceNavigationTiming/jsonschema/1-0-0",
      "iglu:org.ietf/http_client_hints/jsonschema/1-0-0",
      "iglu:com.google.analytics/cookies/jsonschema/1-0-0",
      "iglu:com.google.ga4/cookies/jsonschema/1-0-0",
    ]);
  }, TIMEOUT_MS);

  test("Snowplow e-commerce and enhanced e-commerce", async () => {
    await expectGroup("ecommerce", [
      `${ECOM}/snowplow_ecommerce_action/jsonschema/1-0-2`,
      ...v(ECOM, ["product", "cart", "promotion", "checkout_step", "transaction", "refund", "transaction_error", "user", "page"]),
      ...v(EE, ["action", "actionFieldObject", "impressionFieldObject", "productFieldObject", "promoFieldObject"]),
    ]);
  }, TIMEOUT_MS);

  test("media: every event, with the player, session, ad and ad-break entities", async () => {
    const events = ["ready", "play", "pause", "end", "seek_start", "seek_end", "playback_rate_change", "volume_change", "fullscreen_change",
      "picture_in_picture_change", "percent_progress", "ad_break_start", "ad_break_end", "ad_start", "ad_quartile", "ad_complete", "ad_skip",
      "ad_click", "ad_pause", "ad_resume", "buffer_start", "buffer_end", "quality_change", "error"];
    await expectGroup("media", [`${SP}/media_player/jsonschema/2-0-0`, ...v(MEDIA, ["session", "ad", "ad_break", ...events.map((e) => `${e}_event`)])]);
  }, TIMEOUT_MS);

  test("screen tracking and element tracking", async () => {
    await expectGroup("screensAndElements", [
      ...v(MOBILE, ["screen_view", "screen", "list_item_view", "scroll_changed", "screen_end", "screen_summary"]),
      ...v(SP, ["element", "create_element", "expose_element", "obscure_element", "destroy_element", "element_content", "component_parents"]),
    ]);
  }, TIMEOUT_MS);
});
