/**
 * Iglu Central and its mirror, as Snowplow's default resolver config lists them. Here they come after the
 * embedded registry for every vendor (Snowplow's config asks them first for com.snowplowanalytics), so a box
 * without the network resolves what we ship without waiting on them. A module of its own, without imports,
 * so the command line can show the default without loading the resolver.
 */
export const IGLU_CENTRAL_URLS = ["http://iglucentral.com", "http://mirror01.iglucentral.com"];
