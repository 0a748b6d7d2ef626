// Plane geometry the console needs on WGS84 GeoJSON: bounds, centres, moving a polygon,
// and the offline grid drawn instead of a tile basemap.

export type Position = [number, number];
export type Bounds = [number, number, number, number];

export interface Feature {
  type: 'Feature';
  geometry: { type: string; coordinates: unknown };
  properties: Record<string, unknown> | null;
}

export interface FeatureCollection {
  type: 'FeatureCollection';
  features: Feature[];
}

function isPosition(value: unknown): value is Position {
  return Array.isArray(value) && value.length >= 2 && typeof value[0] === 'number' && typeof value[1] === 'number';
}

/** Every position of a geometry's coordinates, at any nesting depth. */
export function positionsOf(coordinates: unknown): Position[] {
  if (isPosition(coordinates)) return [[coordinates[0], coordinates[1]]];
  if (Array.isArray(coordinates)) return coordinates.flatMap(positionsOf);
  return [];
}

/** A FeatureCollection from the GeoJSON scalar, or null when it is not one. */
export function asFeatureCollection(value: unknown): FeatureCollection | null {
  if (typeof value !== 'object' || value === null) return null;
  const candidate = value as { type?: unknown; features?: unknown };
  if (candidate.type !== 'FeatureCollection' || !Array.isArray(candidate.features)) return null;
  return value as FeatureCollection;
}

/** A bare geometry (Polygon, MultiPolygon, …) wrapped as a one-feature collection. */
export function geometryCollection(geometry: unknown, properties: Record<string, unknown> = {}): FeatureCollection {
  if (typeof geometry !== 'object' || geometry === null || !('type' in geometry)) {
    return { type: 'FeatureCollection', features: [] };
  }
  const collection = asFeatureCollection(geometry);
  if (collection) return collection;
  if ((geometry as { type: unknown }).type === 'Feature') {
    return { type: 'FeatureCollection', features: [geometry as Feature] };
  }
  return {
    type: 'FeatureCollection',
    features: [{ type: 'Feature', geometry: geometry as Feature['geometry'], properties }],
  };
}

export function boundsOf(positions: Position[]): Bounds | null {
  if (positions.length === 0) return null;
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of positions) {
    minX = Math.min(minX, x); minY = Math.min(minY, y);
    maxX = Math.max(maxX, x); maxY = Math.max(maxY, y);
  }
  return [minX, minY, maxX, maxY];
}

/** The vertex centroid of a polygon's outer ring (without its closing vertex). */
export function ringCentre(coordinates: unknown): Position | null {
  if (!Array.isArray(coordinates) || coordinates.length === 0) return null;
  const ring = positionsOf(coordinates[0]);
  const open = ring.length > 1 && ring[0]?.[0] === ring.at(-1)?.[0] && ring[0]?.[1] === ring.at(-1)?.[1]
    ? ring.slice(0, -1) : ring;
  if (open.length === 0) return null;
  const sum = open.reduce<Position>((acc, [x, y]) => [acc[0] + x, acc[1] + y], [0, 0]);
  return [sum[0] / open.length, sum[1] / open.length];
}

/** Moves every position of a geometry's coordinates by (dx, dy) degrees. */
export function translateCoordinates(coordinates: unknown, dx: number, dy: number): unknown {
  if (isPosition(coordinates)) return [coordinates[0] + dx, coordinates[1] + dy];
  if (Array.isArray(coordinates)) return coordinates.map((c) => translateCoordinates(c, dx, dy));
  return coordinates;
}

/** Metres per degree of longitude and latitude at a latitude (spherical Earth). */
export function metresPerDegree(latitude: number): { x: number; y: number } {
  const y = 111_320;
  return { x: y * Math.cos((latitude * Math.PI) / 180), y };
}

/** A step that gives between 6 and 15 grid lines over `span` metres: 1, 2 or 5 × 10^n. */
export function gridStepMetres(spanMetres: number): number {
  if (!(spanMetres > 0)) return 1;
  const raw = spanMetres / 10;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10;
  return nice * power;
}

/**
 * Grid lines (LineStrings) covering `bounds` grown by half its size, spaced in round
 * metres: the map's reference when there is no basemap.
 */
export function gridLines(bounds: Bounds): { collection: FeatureCollection; stepMetres: number } {
  const [minX, minY, maxX, maxY] = bounds;
  const centreLatitude = (minY + maxY) / 2;
  const perDegree = metresPerDegree(centreLatitude);
  const span = Math.max((maxX - minX) * perDegree.x, (maxY - minY) * perDegree.y, 10);
  const stepMetres = gridStepMetres(span);
  const [dx, dy] = [stepMetres / perDegree.x, stepMetres / perDegree.y];
  const padX = Math.max(maxX - minX, dx) / 2;
  const padY = Math.max(maxY - minY, dy) / 2;
  const [x0, x1] = [Math.floor((minX - padX) / dx) * dx, Math.ceil((maxX + padX) / dx) * dx];
  const [y0, y1] = [Math.floor((minY - padY) / dy) * dy, Math.ceil((maxY + padY) / dy) * dy];
  const features: Feature[] = [];
  // At most 200 lines each way, whatever the input (a huge bbox cannot stall the page).
  for (let i = 0, x = x0; x <= x1 + dx / 2 && i < 200; i += 1, x += dx) {
    features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: [[x, y0], [x, y1]] }, properties: {} });
  }
  for (let i = 0, y = y0; y <= y1 + dy / 2 && i < 200; i += 1, y += dy) {
    features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: [[x0, y], [x1, y]] }, properties: {} });
  }
  return { collection: { type: 'FeatureCollection', features }, stepMetres };
}

/** Every position of any GeoJSON value: a geometry, a Feature or a FeatureCollection. */
export function positionsOfGeoJson(value: unknown): Position[] {
  if (typeof value !== 'object' || value === null) return [];
  const object = value as { type?: unknown; features?: unknown; geometry?: unknown; coordinates?: unknown; geometries?: unknown };
  if (Array.isArray(object.features)) return object.features.flatMap(positionsOfGeoJson);
  if (object.type === 'Feature') return positionsOfGeoJson(object.geometry);
  if (Array.isArray(object.geometries)) return object.geometries.flatMap(positionsOfGeoJson);
  return positionsOf(object.coordinates);
}
