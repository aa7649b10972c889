/**
 * The page of the browser-plugin test, bundled by Bun.build for the browser. `?group=` picks which official
 * plugins this page load runs and what it fires with them; `?collector=` is where the tracker sends. Events go
 * one request at a time (bufferSize 1), so once the closing structured event is answered every earlier one has
 * been; `window.pluginsDone` settles then, with any failure the tracker reported.
 */
import { flushBuffer, newTracker, trackPageView, trackSelfDescribingEvent, trackStructEvent, type BrowserPlugin } from "@snowplow/browser-tracker";
import { ButtonClickTrackingPlugin, enableButtonClickTracking } from "@snowplow/browser-plugin-button-click-tracking";
import { ClientHintsPlugin } from "@snowplow/browser-plugin-client-hints";
import { SnowplowElementTrackingPlugin, startElementTracking } from "@snowplow/browser-plugin-element-tracking";
import {
  addEnhancedEcommerceActionContext,
  addEnhancedEcommerceImpressionContext,
  addEnhancedEcommerceProductContext,
  addEnhancedEcommercePromoContext,
  EnhancedEcommercePlugin,
  trackEnhancedEcommerceAction,
} from "@snowplow/browser-plugin-enhanced-ecommerce";
import { ErrorTrackingPlugin, trackError } from "@snowplow/browser-plugin-error-tracking";
import { enableFormTracking, FormTrackingPlugin } from "@snowplow/browser-plugin-form-tracking";
import { GaCookiesPlugin } from "@snowplow/browser-plugin-ga-cookies";
import { LinkClickTrackingPlugin, trackLinkClick } from "@snowplow/browser-plugin-link-click-tracking";
import * as media from "@snowplow/browser-plugin-media";
import { PerformanceNavigationTimingPlugin } from "@snowplow/browser-plugin-performance-navigation-timing";
import { PerformanceTimingPlugin } from "@snowplow/browser-plugin-performance-timing";
import { PrivacySandboxPlugin } from "@snowplow/browser-plugin-privacy-sandbox";
import { ScreenTrackingPlugin, trackListItemView, trackScreenView, trackScrollChanged } from "@snowplow/browser-plugin-screen-tracking";
import { SiteTrackingPlugin, trackSiteSearch, trackSocialInteraction, trackTiming } from "@snowplow/browser-plugin-site-tracking";
import * as ecommerce from "@snowplow/browser-plugin-snowplow-ecommerce";
import { TimezonePlugin } from "@snowplow/browser-plugin-timezone";

declare global {
  interface Window {
    pluginsDone: Promise<{ failures: string[] }>;
  }
}

const query = new URLSearchParams(location.search);
const collector = query.get("collector")!;
const group = query.get("group")!;
const failures: string[] = [];
const answeredBatches: string[] = [];
const batchWaiters: { text: string; resolve: () => void }[] = [];

/** Settles once a request carrying `text` (an event's schema name, a marker) has been answered by the collector. */
function answered(text: string): Promise<void> {
  if (answeredBatches.some((batch) => batch.includes(text))) return Promise.resolve();
  return new Promise((resolve) => batchWaiters.push({ text, resolve }));
}

function startTracker(plugins: BrowserPlugin[], name = "sp") {
  newTracker(name, collector, {
    appId: `plugins-${group}`,
    eventMethod: "post",
    bufferSize: 1,
    retryFailedRequests: false,
    contexts: { webPage: true, session: true, browser: true },
    plugins,
    onRequestSuccess: (batch: unknown) => {
      // Self-describing events travel base64-encoded in ue_px; decoded, their schema names can be waited on.
      const text = JSON.stringify(batch).replace(/"ue_px":"([^"]+)"/g, (_all, encoded: string) => atob(encoded.replace(/-/g, "+").replace(/_/g, "/")));
      answeredBatches.push(text);
      for (const waiter of batchWaiters.filter((w) => text.includes(w.text))) waiter.resolve();
    },
    onRequestFailure: (failure: { status?: number; message?: string }) => failures.push(`request failed: ${failure.status} ${failure.message}`),
  });
}

const product = { id: "P-1", name: "Lamp", category: "home/lighting", price: 25, currency: "EUR", brand: "Acme", quantity: 1 };

const groups: Record<string, () => Promise<void>> = {
  // The tracker's own entities and the plugins that add entities to every event or track page interactions.
  async core() {
    document.cookie = "_ga=GA1.1.1234567890.1700000000; path=/";
    document.cookie = "_ga_ABC123=GS1.1.1700000000.1.1.1700000100.0.0.0; path=/";
    document.body.innerHTML = `
      <a id="out" href="#elsewhere" class="cta">a link</a>
      <form id="signup" onsubmit="return false"><input id="email" name="email" type="email"><select id="size" name="size"><option>s</option><option>m</option></select><textarea id="note" name="note"></textarea><button id="send" type="submit">send</button></form>
      <button id="plain" class="big" data-sp-button-label="Plain">Plain</button>`;
    startTracker([
      SiteTrackingPlugin(), LinkClickTrackingPlugin(), FormTrackingPlugin(), ButtonClickTrackingPlugin(), ErrorTrackingPlugin(),
      TimezonePlugin(), PerformanceTimingPlugin(), PerformanceNavigationTimingPlugin(), ClientHintsPlugin(true), GaCookiesPlugin({ ua: true, ga4: true, ga4MeasurementId: "G-ABC123" }), PrivacySandboxPlugin(),
    ]);
    trackPageView();
    trackStructEvent({ category: "shop", action: "look", label: "lamp", property: "colour", value: 2 });
    trackSelfDescribingEvent({ event: { schema: "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", data: { targetUrl: "https://example.com/sd" } } });
    trackSiteSearch({ terms: ["lamp", "red"], filters: { colour: "red", inStock: true }, totalResults: 12, pageResults: 6 });
    trackSocialInteraction({ action: "like", network: "mastodon", target: "post-1" });
    trackTiming({ category: "load", variable: "map", timing: 220, label: "tiles" });
    trackLinkClick({ targetUrl: "https://example.com/tracked", elementId: "out", elementClasses: ["cta"], elementContent: "a link" });
    trackError({ message: "it broke", filename: "page.js", lineno: 3, colno: 7, error: new TypeError("it broke") });
    enableFormTracking();
    enableButtonClickTracking();
    const email = document.getElementById("email") as HTMLInputElement;
    email.focus();
    email.value = "someone@example.com";
    email.dispatchEvent(new Event("change", { bubbles: true }));
    (document.getElementById("size") as HTMLSelectElement).value = "m";
    document.getElementById("size")!.dispatchEvent(new Event("change", { bubbles: true }));
    (document.getElementById("signup") as HTMLFormElement).requestSubmit();
    document.getElementById("plain")!.click();
  },

  // Snowplow e-commerce and the older enhanced e-commerce plugin.
  async ecommerce() {
    startTracker([ecommerce.SnowplowEcommercePlugin(), EnhancedEcommercePlugin()]);
    ecommerce.setPageType({ type: "product", language: "en-GB", locale: "en-GB" });
    ecommerce.setEcommerceUser({ id: "user-1", is_guest: false, email: "someone@example.com" });
    trackPageView();
    ecommerce.trackProductView(product);
    ecommerce.trackAddToCart({ products: [product], total_value: 25, currency: "EUR", cart_id: "C-1" });
    ecommerce.trackRemoveFromCart({ products: [product], total_value: 0, currency: "EUR" });
    ecommerce.trackProductListView({ products: [product], name: "recommended" });
    ecommerce.trackProductListClick({ product, name: "recommended" });
    const promotion = { id: "SPRING", name: "Spring sale", product_ids: ["P-1"], slot: "1", type: "banner" };
    ecommerce.trackPromotionView(promotion);
    ecommerce.trackPromotionClick(promotion);
    ecommerce.trackCheckoutStep({ step: 1, shipping_postcode: "1000", delivery_method: "post", payment_method: "card", marketing_opt_in: true });
    const transaction = { transaction_id: "T-1", revenue: 25, currency: "EUR", payment_method: "card", total_quantity: 1, tax: 5, shipping: 3, products: [product] };
    ecommerce.trackTransaction(transaction);
    ecommerce.trackRefund({ transaction_id: "T-1", refund_amount: 25, currency: "EUR", refund_reason: "broken", products: [product] });
    const { products: _products, ...transactionEntity } = transaction;
    ecommerce.trackTransactionError({ transaction: transactionEntity, error_code: "E1", error_shortcode: "DECLINED", error_description: "card declined", error_type: "hard", resolution: "rejection" });
    addEnhancedEcommerceProductContext({ id: "P-1", name: "Lamp", list: "search", brand: "Acme", category: "home", variant: "red", price: 25, quantity: 1, currency: "EUR" });
    addEnhancedEcommerceImpressionContext({ id: "P-2", name: "Shade", list: "search", brand: "Acme", category: "home", variant: "blue", position: 2, price: "10", currency: "EUR" });
    addEnhancedEcommercePromoContext({ id: "SPRING", name: "Spring sale", creative: "banner.png", position: "top", currency: "EUR" });
    addEnhancedEcommerceActionContext({ id: "T-3", affiliation: "web", revenue: "25", tax: 5, shipping: 3, coupon: "NONE", list: "search", step: 1, option: "card", currency: "EUR" });
    trackEnhancedEcommerceAction({ action: "purchase" });
  },

  // The media plugin: every event it has, with the player, session, ad and ad-break entities.
  async media() {
    startTracker([media.SnowplowMediaPlugin()]);
    const id = "video-1";
    media.startMediaTracking({ id, player: { duration: 100, label: "Intro", playerType: "html5", mediaType: "video" as never }, boundaries: [10, 50], session: { startedAt: new Date() }, pings: false });
    media.trackMediaReady({ id });
    media.trackMediaPlay({ id });
    media.updateMediaTracking({ id, player: { currentTime: 12 } });
    media.trackMediaPlaybackRateChange({ id, newRate: 1.5 });
    media.trackMediaVolumeChange({ id, newVolume: 40 });
    media.trackMediaFullscreenChange({ id, fullscreen: true });
    media.trackMediaPictureInPictureChange({ id, pictureInPicture: true });
    media.trackMediaSeekStart({ id });
    media.trackMediaSeekEnd({ id, player: { currentTime: 55 } });
    media.trackMediaBufferStart({ id });
    media.trackMediaBufferEnd({ id });
    media.trackMediaQualityChange({ id, newQuality: "1080p", bitrate: 4000, framesPerSecond: 30, automatic: true });
    media.trackMediaAdBreakStart({ id, adBreak: { breakId: "b1", name: "mid-roll", breakType: media.MediaPlayerAdBreakType.Linear, podSize: 1 } });
    media.trackMediaAdStart({ id, ad: { adId: "ad1", name: "Lamps", creativeId: "c1", duration: 10, skippable: true } });
    media.trackMediaAdFirstQuartile({ id });
    media.trackMediaAdMidpoint({ id });
    media.trackMediaAdThirdQuartile({ id });
    media.trackMediaAdClick({ id });
    media.trackMediaAdPause({ id });
    media.trackMediaAdResume({ id });
    media.trackMediaAdSkip({ id, percentProgress: 50 });
    media.trackMediaAdComplete({ id });
    media.trackMediaAdBreakEnd({ id });
    media.trackMediaError({ id, errorCode: "500", errorName: "decode", errorDescription: "bad frame" });
    media.trackMediaPause({ id });
    media.trackMediaEnd({ id });
    media.endMediaTracking({ id });
  },

  // Screen tracking (screen views, list items, scrolling, and the screen end and summary it derives) and
  // element tracking (elements appearing, being seen, hidden and removed, with their entities).
  async screensAndElements() {
    document.body.innerHTML = `<section id="shelf" data-component="shelf"><div class="card" data-sku="P-1">Lamp <b>25 EUR</b></div></section>`;
    startTracker([ScreenTrackingPlugin(), SnowplowElementTrackingPlugin()]);
    // With screen engagement tracking (the default) list item views and scrolling go into the screen_summary
    // entity of the screen_end event; without it they are events of their own.
    startTracker([ScreenTrackingPlugin({ screenEngagementAutotracking: false })], "plain");
    trackScreenView({ name: "home", type: "feed" });
    trackListItemView({ index: 1, itemsCount: 5 }, ["sp"]);
    trackScrollChanged({ yOffset: 120, viewHeight: 800, contentHeight: 2400 }, ["sp"]);
    // As events, the plugin (4.10) sends these fields as named in its API (itemsCount, yOffset…), which Iglu
    // Central's schemas do not list (items_count, y_offset…): Snowplow rejects such events, and so do we. Only
    // what those schemas accept is sent as events here.
    trackListItemView({ index: 1 }, ["plain"]);
    trackScrollChanged({}, ["plain"]);
    await answered("scroll_changed");
    trackScreenView({ name: "details", type: "product" });
    startElementTracking({
      elements: {
        name: "card",
        selector: ".card",
        create: true,
        expose: { when: "always", minPercentage: 0 },
        obscure: true,
        destroy: true,
        component: true,
        details: [{ dataset: ["sku"] }],
        contents: [{ name: "price", selector: "b" }],
      },
    });
    const card = document.querySelector(".card") as HTMLElement;
    // Each step once the plugin has reported the one before: seen in view, then hidden, then removed.
    await answered("expose_element");
    card.style.display = "none";
    await answered("obscure_element");
    card.remove();
    await answered("destroy_element");
  },
};

window.pluginsDone = (async () => {
  try {
    await groups[group]!();
  } catch (error) {
    failures.push(`page: ${(error as Error).stack ?? error}`);
  }
  trackStructEvent({ category: "test", action: "closing-event" });
  flushBuffer();
  await answered("closing-event");
  return { failures };
})();
