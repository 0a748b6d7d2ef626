// The runtime configuration (config.json beside index.html): where the API is, so the
// same bundle serves from the entmoot binary or from a bucket behind a CDN.

/** A raster basemap a deployment with internet access may show under the plan. */
export interface Basemap {
  id: string;
  label: string;
  tiles: string[];
  attribution: string;
}

export interface ConsoleConfig {
  /** Absolute URL of the GraphQL endpoint (HTTP). */
  graphqlUrl: string;
  /** Absolute URL of the same endpoint for websocket subscriptions. */
  websocketUrl: string;
  /** Basemaps offered in the map settings; none is used unless the planner picks one. */
  basemaps: Basemap[];
}

/** The basemaps offered when config.json does not list its own. */
export const DEFAULT_BASEMAPS: Basemap[] = [
  {
    id: 'osm',
    label: 'OpenStreetMap',
    tiles: ['https://tile.openstreetmap.org/{z}/{x}/{y}.png'],
    attribution: '© OpenStreetMap contributors',
  },
  {
    id: 'satellite',
    label: 'Satellite (Esri World Imagery)',
    tiles: ['https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}'],
    attribution: 'Imagery © Esri',
  },
];

export class ConfigError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseBasemaps(value: unknown): Basemap[] {
  if (value === undefined) return DEFAULT_BASEMAPS;
  if (!Array.isArray(value)) throw new ConfigError('config.json: `basemaps` must be a list');
  return value.map((entry, index) => {
    const where = `config.json: basemaps[${index}]`;
    if (!isRecord(entry)) throw new ConfigError(`${where} must be an object`);
    const { id, label, tiles, attribution } = entry;
    if (typeof id !== 'string' || typeof label !== 'string') {
      throw new ConfigError(`${where} needs a string \`id\` and \`label\``);
    }
    if (!Array.isArray(tiles) || tiles.length === 0 || !tiles.every((t) => typeof t === 'string' && t.startsWith('https://'))) {
      throw new ConfigError(`${where}.tiles must be a non-empty list of https:// URL templates`);
    }
    return { id, label, tiles: tiles as string[], attribution: typeof attribution === 'string' ? attribution : '' };
  });
}

/**
 * Reads config.json's content against the page's URL: `graphqlUrl` may be relative
 * (same origin, the embedded default) or absolute (an API on another origin, the CDN
 * setup); the websocket URL follows it unless `websocketUrl` is given.
 */
export function resolveConfig(raw: unknown, pageUrl: string): ConsoleConfig {
  if (!isRecord(raw)) throw new ConfigError('config.json must hold a JSON object');
  const graphql = raw.graphqlUrl ?? '/graphql';
  if (typeof graphql !== 'string' || graphql === '') {
    throw new ConfigError('config.json: `graphqlUrl` must be a non-empty string');
  }
  let graphqlUrl: URL;
  try {
    graphqlUrl = new URL(graphql, pageUrl);
  } catch {
    throw new ConfigError(`config.json: \`graphqlUrl\` is not a URL: ${graphql}`);
  }
  if (graphqlUrl.protocol !== 'http:' && graphqlUrl.protocol !== 'https:') {
    throw new ConfigError(`config.json: \`graphqlUrl\` must be http(s), not ${graphqlUrl.protocol}`);
  }
  let websocketUrl: URL;
  if (typeof raw.websocketUrl === 'string') {
    websocketUrl = new URL(raw.websocketUrl, pageUrl);
  } else {
    websocketUrl = new URL(graphqlUrl.href);
    websocketUrl.protocol = graphqlUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  }
  return { graphqlUrl: graphqlUrl.href, websocketUrl: websocketUrl.href, basemaps: parseBasemaps(raw.basemaps) };
}

/** Fetches config.json next to the page (never cached: it changes per deployment). */
export async function loadConfig(): Promise<ConsoleConfig> {
  const url = new URL('/config.json', window.location.href);
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new ConfigError(`${url.pathname} answered HTTP ${response.status}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ConfigError(`${url.pathname} is not JSON`);
  }
  return resolveConfig(body, window.location.href);
}

/**
 * Turns a download link from the API (a presigned absolute URL, or a signed path such
 * as `/files/…` on the API) into an absolute URL.
 */
export function resolveDownloadUrl(url: string, graphqlUrl: string): string {
  return new URL(url, graphqlUrl).href;
}
