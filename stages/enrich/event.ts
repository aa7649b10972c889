/**
 * The canonical Snowplow enriched event: 131 fields named and ordered as the enriched TSV columns.
 *
 * Enrich builds one of these per tracker event; enrichments read and write its fields; the serialisers
 * (./output) turn it into Analytics-SDK JSON or the TSV line. Conventions every module relies on:
 * - an absent value is `null` (never "" or undefined);
 * - timestamps are milliseconds since the epoch (UTC) until serialisation;
 * - integers, decimals and floats are JS numbers; the boolean-ish columns are booleans;
 * - `contexts` and `derived_contexts` are arrays of entities (empty when none) and `unstruct_event` is the
 *   inner self-describing event, never the `unstruct_event`/`contexts` wrapper, which only serialisation adds.
 */

/** A self-describing JSON: `{"schema": "iglu:vendor/name/format/M-R-A", "data": ...}`. */
export interface SelfDescribing {
  schema: string;
  data: unknown;
}

/** How a column is typed, which decides its parsing, its JSON form and its TSV form. */
export type FieldKind = "string" | "integer" | "decimal" | "float" | "boolean" | "timestamp" | "contexts" | "unstruct";

/**
 * Every column in TSV order, its kind, and Enrich's default maximum length for strings
 * (`atomicFieldsLimits`; page_url, page_referrer and mkt_clickid deliberately exceed the atomic schema).
 */
export const FIELD_SPECS = [
  ["app_id", "string", 255],
  ["platform", "string", 255],
  ["etl_tstamp", "timestamp", 0],
  ["collector_tstamp", "timestamp", 0],
  ["dvce_created_tstamp", "timestamp", 0],
  ["event", "string", 128],
  ["event_id", "string", 36],
  ["txn_id", "integer", 0],
  ["name_tracker", "string", 128],
  ["v_tracker", "string", 100],
  ["v_collector", "string", 100],
  ["v_etl", "string", 100],
  ["user_id", "string", 255],
  ["user_ipaddress", "string", 128],
  ["user_fingerprint", "string", 128],
  ["domain_userid", "string", 128],
  ["domain_sessionidx", "integer", 0],
  ["network_userid", "string", 128],
  ["geo_country", "string", 2],
  ["geo_region", "string", 3],
  ["geo_city", "string", 75],
  ["geo_zipcode", "string", 15],
  ["geo_latitude", "float", 0],
  ["geo_longitude", "float", 0],
  ["geo_region_name", "string", 100],
  ["ip_isp", "string", 100],
  ["ip_organization", "string", 128],
  ["ip_domain", "string", 128],
  ["ip_netspeed", "string", 100],
  ["page_url", "string", 10000],
  ["page_title", "string", 2000],
  ["page_referrer", "string", 10000],
  ["page_urlscheme", "string", 16],
  ["page_urlhost", "string", 255],
  ["page_urlport", "integer", 0],
  ["page_urlpath", "string", 3000],
  ["page_urlquery", "string", 6000],
  ["page_urlfragment", "string", 3000],
  ["refr_urlscheme", "string", 16],
  ["refr_urlhost", "string", 255],
  ["refr_urlport", "integer", 0],
  ["refr_urlpath", "string", 6000],
  ["refr_urlquery", "string", 6000],
  ["refr_urlfragment", "string", 3000],
  ["refr_medium", "string", 25],
  ["refr_source", "string", 50],
  ["refr_term", "string", 255],
  ["mkt_medium", "string", 255],
  ["mkt_source", "string", 255],
  ["mkt_term", "string", 255],
  ["mkt_content", "string", 500],
  ["mkt_campaign", "string", 255],
  ["contexts", "contexts", 0],
  ["se_category", "string", 1000],
  ["se_action", "string", 1000],
  ["se_label", "string", 4096],
  ["se_property", "string", 1000],
  ["se_value", "decimal", 0],
  ["unstruct_event", "unstruct", 0],
  ["tr_orderid", "string", 255],
  ["tr_affiliation", "string", 255],
  ["tr_total", "decimal", 0],
  ["tr_tax", "decimal", 0],
  ["tr_shipping", "decimal", 0],
  ["tr_city", "string", 255],
  ["tr_state", "string", 255],
  ["tr_country", "string", 255],
  ["ti_orderid", "string", 255],
  ["ti_sku", "string", 255],
  ["ti_name", "string", 255],
  ["ti_category", "string", 255],
  ["ti_price", "decimal", 0],
  ["ti_quantity", "integer", 0],
  ["pp_xoffset_min", "integer", 0],
  ["pp_xoffset_max", "integer", 0],
  ["pp_yoffset_min", "integer", 0],
  ["pp_yoffset_max", "integer", 0],
  ["useragent", "string", 1000],
  ["br_name", "string", 50],
  ["br_family", "string", 50],
  ["br_version", "string", 50],
  ["br_type", "string", 50],
  ["br_renderengine", "string", 50],
  ["br_lang", "string", 255],
  ["br_features_pdf", "boolean", 0],
  ["br_features_flash", "boolean", 0],
  ["br_features_java", "boolean", 0],
  ["br_features_director", "boolean", 0],
  ["br_features_quicktime", "boolean", 0],
  ["br_features_realplayer", "boolean", 0],
  ["br_features_windowsmedia", "boolean", 0],
  ["br_features_gears", "boolean", 0],
  ["br_features_silverlight", "boolean", 0],
  ["br_cookies", "boolean", 0],
  ["br_colordepth", "string", 12],
  ["br_viewwidth", "integer", 0],
  ["br_viewheight", "integer", 0],
  ["os_name", "string", 50],
  ["os_family", "string", 50],
  ["os_manufacturer", "string", 50],
  ["os_timezone", "string", 255],
  ["dvce_type", "string", 50],
  ["dvce_ismobile", "boolean", 0],
  ["dvce_screenwidth", "integer", 0],
  ["dvce_screenheight", "integer", 0],
  ["doc_charset", "string", 128],
  ["doc_width", "integer", 0],
  ["doc_height", "integer", 0],
  ["tr_currency", "string", 3],
  ["tr_total_base", "decimal", 0],
  ["tr_tax_base", "decimal", 0],
  ["tr_shipping_base", "decimal", 0],
  ["ti_currency", "string", 3],
  ["ti_price_base", "decimal", 0],
  ["base_currency", "string", 3],
  ["geo_timezone", "string", 64],
  ["mkt_clickid", "string", 1000],
  ["mkt_network", "string", 64],
  ["etl_tags", "string", 500],
  ["dvce_sent_tstamp", "timestamp", 0],
  ["refr_domain_userid", "string", 128],
  ["refr_dvce_tstamp", "timestamp", 0],
  ["derived_contexts", "contexts", 0],
  ["domain_sessionid", "string", 128],
  ["derived_tstamp", "timestamp", 0],
  ["event_vendor", "string", 1000],
  ["event_name", "string", 1000],
  ["event_format", "string", 128],
  ["event_version", "string", 128],
  ["event_fingerprint", "string", 128],
  ["true_tstamp", "timestamp", 0],
] as const satisfies readonly (readonly [string, FieldKind, number])[];

export type EnrichedFieldName = (typeof FIELD_SPECS)[number][0];

/** The 131 column names in canonical order. */
export const ENRICHED_FIELDS: readonly EnrichedFieldName[] = FIELD_SPECS.map((spec) => spec[0]);

export const FIELD_KIND: Readonly<Record<EnrichedFieldName, FieldKind>> = Object.fromEntries(
  FIELD_SPECS.map(([name, kind]) => [name, kind]),
) as Record<EnrichedFieldName, FieldKind>;

/** Enrich's default maximum length of each string column (0 for columns that are not strings). */
export const FIELD_MAX_LENGTH: Readonly<Record<EnrichedFieldName, number>> = Object.fromEntries(
  FIELD_SPECS.map(([name, , max]) => [name, max]),
) as Record<EnrichedFieldName, number>;

export interface EnrichedEvent {
  app_id: string | null;
  platform: string | null;
  etl_tstamp: number | null;
  collector_tstamp: number | null;
  dvce_created_tstamp: number | null;
  event: string | null;
  event_id: string | null;
  txn_id: number | null;
  name_tracker: string | null;
  v_tracker: string | null;
  v_collector: string | null;
  v_etl: string | null;
  user_id: string | null;
  user_ipaddress: string | null;
  user_fingerprint: string | null;
  domain_userid: string | null;
  domain_sessionidx: number | null;
  network_userid: string | null;
  geo_country: string | null;
  geo_region: string | null;
  geo_city: string | null;
  geo_zipcode: string | null;
  geo_latitude: number | null;
  geo_longitude: number | null;
  geo_region_name: string | null;
  ip_isp: string | null;
  ip_organization: string | null;
  ip_domain: string | null;
  ip_netspeed: string | null;
  page_url: string | null;
  page_title: string | null;
  page_referrer: string | null;
  page_urlscheme: string | null;
  page_urlhost: string | null;
  page_urlport: number | null;
  page_urlpath: string | null;
  page_urlquery: string | null;
  page_urlfragment: string | null;
  refr_urlscheme: string | null;
  refr_urlhost: string | null;
  refr_urlport: number | null;
  refr_urlpath: string | null;
  refr_urlquery: string | null;
  refr_urlfragment: string | null;
  refr_medium: string | null;
  refr_source: string | null;
  refr_term: string | null;
  mkt_medium: string | null;
  mkt_source: string | null;
  mkt_term: string | null;
  mkt_content: string | null;
  mkt_campaign: string | null;
  contexts: SelfDescribing[];
  se_category: string | null;
  se_action: string | null;
  se_label: string | null;
  se_property: string | null;
  se_value: number | null;
  unstruct_event: SelfDescribing | null;
  tr_orderid: string | null;
  tr_affiliation: string | null;
  tr_total: number | null;
  tr_tax: number | null;
  tr_shipping: number | null;
  tr_city: string | null;
  tr_state: string | null;
  tr_country: string | null;
  ti_orderid: string | null;
  ti_sku: string | null;
  ti_name: string | null;
  ti_category: string | null;
  ti_price: number | null;
  ti_quantity: number | null;
  pp_xoffset_min: number | null;
  pp_xoffset_max: number | null;
  pp_yoffset_min: number | null;
  pp_yoffset_max: number | null;
  useragent: string | null;
  br_name: string | null;
  br_family: string | null;
  br_version: string | null;
  br_type: string | null;
  br_renderengine: string | null;
  br_lang: string | null;
  br_features_pdf: boolean | null;
  br_features_flash: boolean | null;
  br_features_java: boolean | null;
  br_features_director: boolean | null;
  br_features_quicktime: boolean | null;
  br_features_realplayer: boolean | null;
  br_features_windowsmedia: boolean | null;
  br_features_gears: boolean | null;
  br_features_silverlight: boolean | null;
  br_cookies: boolean | null;
  br_colordepth: string | null;
  br_viewwidth: number | null;
  br_viewheight: number | null;
  os_name: string | null;
  os_family: string | null;
  os_manufacturer: string | null;
  os_timezone: string | null;
  dvce_type: string | null;
  dvce_ismobile: boolean | null;
  dvce_screenwidth: number | null;
  dvce_screenheight: number | null;
  doc_charset: string | null;
  doc_width: number | null;
  doc_height: number | null;
  tr_currency: string | null;
  tr_total_base: number | null;
  tr_tax_base: number | null;
  tr_shipping_base: number | null;
  ti_currency: string | null;
  ti_price_base: number | null;
  base_currency: string | null;
  geo_timezone: string | null;
  mkt_clickid: string | null;
  mkt_network: string | null;
  etl_tags: string | null;
  dvce_sent_tstamp: number | null;
  refr_domain_userid: string | null;
  refr_dvce_tstamp: number | null;
  derived_contexts: SelfDescribing[];
  domain_sessionid: string | null;
  derived_tstamp: number | null;
  event_vendor: string | null;
  event_name: string | null;
  event_format: string | null;
  event_version: string | null;
  event_fingerprint: string | null;
  true_tstamp: number | null;
}

/** A fresh event with every column empty; the shape is fixed so every event shares one hidden class. */
export function newEnrichedEvent(): EnrichedEvent {
  return {
    app_id: null,
    platform: null,
    etl_tstamp: null,
    collector_tstamp: null,
    dvce_created_tstamp: null,
    event: null,
    event_id: null,
    txn_id: null,
    name_tracker: null,
    v_tracker: null,
    v_collector: null,
    v_etl: null,
    user_id: null,
    user_ipaddress: null,
    user_fingerprint: null,
    domain_userid: null,
    domain_sessionidx: null,
    network_userid: null,
    geo_country: null,
    geo_region: null,
    geo_city: null,
    geo_zipcode: null,
    geo_latitude: null,
    geo_longitude: null,
    geo_region_name: null,
    ip_isp: null,
    ip_organization: null,
    ip_domain: null,
    ip_netspeed: null,
    page_url: null,
    page_title: null,
    page_referrer: null,
    page_urlscheme: null,
    page_urlhost: null,
    page_urlport: null,
    page_urlpath: null,
    page_urlquery: null,
    page_urlfragment: null,
    refr_urlscheme: null,
    refr_urlhost: null,
    refr_urlport: null,
    refr_urlpath: null,
    refr_urlquery: null,
    refr_urlfragment: null,
    refr_medium: null,
    refr_source: null,
    refr_term: null,
    mkt_medium: null,
    mkt_source: null,
    mkt_term: null,
    mkt_content: null,
    mkt_campaign: null,
    contexts: [],
    se_category: null,
    se_action: null,
    se_label: null,
    se_property: null,
    se_value: null,
    unstruct_event: null,
    tr_orderid: null,
    tr_affiliation: null,
    tr_total: null,
    tr_tax: null,
    tr_shipping: null,
    tr_city: null,
    tr_state: null,
    tr_country: null,
    ti_orderid: null,
    ti_sku: null,
    ti_name: null,
    ti_category: null,
    ti_price: null,
    ti_quantity: null,
    pp_xoffset_min: null,
    pp_xoffset_max: null,
    pp_yoffset_min: null,
    pp_yoffset_max: null,
    useragent: null,
    br_name: null,
    br_family: null,
    br_version: null,
    br_type: null,
    br_renderengine: null,
    br_lang: null,
    br_features_pdf: null,
    br_features_flash: null,
    br_features_java: null,
    br_features_director: null,
    br_features_quicktime: null,
    br_features_realplayer: null,
    br_features_windowsmedia: null,
    br_features_gears: null,
    br_features_silverlight: null,
    br_cookies: null,
    br_colordepth: null,
    br_viewwidth: null,
    br_viewheight: null,
    os_name: null,
    os_family: null,
    os_manufacturer: null,
    os_timezone: null,
    dvce_type: null,
    dvce_ismobile: null,
    dvce_screenwidth: null,
    dvce_screenheight: null,
    doc_charset: null,
    doc_width: null,
    doc_height: null,
    tr_currency: null,
    tr_total_base: null,
    tr_tax_base: null,
    tr_shipping_base: null,
    ti_currency: null,
    ti_price_base: null,
    base_currency: null,
    geo_timezone: null,
    mkt_clickid: null,
    mkt_network: null,
    etl_tags: null,
    dvce_sent_tstamp: null,
    refr_domain_userid: null,
    refr_dvce_tstamp: null,
    derived_contexts: [],
    domain_sessionid: null,
    derived_tstamp: null,
    event_vendor: null,
    event_name: null,
    event_format: null,
    event_version: null,
    event_fingerprint: null,
    true_tstamp: null,
  };
}
