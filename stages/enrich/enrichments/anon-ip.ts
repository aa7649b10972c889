/**
 * anon_ip: masks the right-most `anonOctets` of an IPv4 `user_ipaddress` (1–4) or `anonSegments` of an
 * IPv6 one (1–8, defaulting to anonOctets) with "x", as Snowplow does: 94.15.223.151 → 94.x.x.x;
 * 2605:2700:0:3::4713:93e3 → 2605:2700:0:3:x:x:x:x (the address is written out in full first).
 * It runs after ip_lookups, so the geo columns still come from the real address.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { EnrichmentDefinition } from "./config";

const MASK = "x";
const IPV4_MAPPED_PREFIX = /^::ffff:/i;

/** The first `keep` parts, then "x" up to `total` parts (Scala's `take(keep).padTo(total, "x")`). */
function maskParts(parts: readonly string[], keep: number, total: number, separator: string): string {
  return Array.from({ length: total }, (_, index) => (index < keep ? parts[index] : MASK)).join(separator);
}

/** The eight groups of an IPv6 address, without leading zeros (Java's Inet6Address.getHostAddress form). */
function ipv6Groups(address: string): string[] {
  let text = address;
  const tail: string[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    // An embedded IPv4 tail (64:ff9b::1.2.3.4) is two groups.
    const octets = text.slice(lastColon + 1).split(".").map(Number) as [number, number, number, number];
    tail.push(((octets[0] << 8) | octets[1]).toString(16), ((octets[2] << 8) | octets[3]).toString(16));
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const [head = "", rest] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeros = rest === undefined ? [] : Array(8 - headGroups.length - restGroups.length).fill("0");
  const groups = [...headGroups, ...zeros, ...restGroups].map((group) => parseInt(group, 16).toString(16));
  if (tail.length) groups.splice(6, 2, ...tail);
  return groups;
}

function anonymizeIp(ip: string, octets: number, segments: number): string {
  if (IPV4_MAPPED_PREFIX.test(ip) && isIPv4(ip.slice(7))) {
    return ip.slice(0, 7) + maskParts(ip.slice(7).split("."), 4 - octets, 4, ".");
  }
  if (isIPv4(ip)) return maskParts(ip.split("."), 4 - octets, 4, ".");
  if (isIPv6(ip)) return maskParts(ipv6Groups(ip), 8 - segments, 8, ":");
  // Not an address (a port, a typo): masked part by part the way Snowplow does, so "1.2.3.4:80" → "1.2.3.x".
  if (ip.includes(".") || ip === "") {
    const parts = ip.split(".");
    return maskParts(parts, 4 - octets, parts.length, ".");
  }
  if (ip.includes(":")) return maskParts(ip.split(":"), 8 - segments, 8, ":");
  return ip;
}

export const anonIp: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "anon_ip",
  models: [1],
  create(config) {
    const octets = config.parameters.integer("anonOctets", 1, 4);
    const segments = config.parameters.has("anonSegments") ? config.parameters.integer("anonSegments", 1, 8) : octets;
    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event }) {
        if (event.user_ipaddress !== null) event.user_ipaddress = anonymizeIp(event.user_ipaddress, octets, segments);
      },
    };
  },
};
