// Plane geometry the console needs on WGS84 GeoJSON: bounds, centres, moving a polygon,
// the offline grid drawn instead of a tile basemap, and the measuring tool's lengths and
// areas.

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

/**
 * Metres per degree of longitude and latitude at a latitude, on the WGS84 ellipsoid (the
 * usual series, good to a centimetre per degree).
 *
 * metresPerDegree(0) is about { x: 111 319.5, y: 110 574.3 }.
 */
export function metresPerDegree(latitude: number): { x: number; y: number } {
  const phi = (latitude * Math.PI) / 180;
  return {
    x: 111_412.84 * Math.cos(phi) - 93.5 * Math.cos(3 * phi) + 0.118 * Math.cos(5 * phi),
    y: 111_132.92 - 559.82 * Math.cos(2 * phi) + 1.175 * Math.cos(4 * phi) - 0.0023 * Math.cos(6 * phi),
  };
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

/**
 * Length in metres of a path of [longitude, latitude] positions: each segment measured on a
 * plane tangent to the ellipsoid at its middle latitude (the grid's metres), which is within
 * a few parts in ten thousand of the geodesic over a site.
 *
 * pathLengthMetres([[0, 0], [0, 0.001]]) is about 110.57.
 */
export function pathLengthMetres(path: Position[]): number {
  let length = 0;
  for (const [a, b] of path.slice(1).map((point, i) => [path[i] ?? point, point] as const)) {
    const perDegree = metresPerDegree((a[1] + b[1]) / 2);
    length += Math.hypot((b[0] - a[0]) * perDegree.x, (b[1] - a[1]) * perDegree.y);
  }
  return length;
}

/**
 * Area in square metres of the polygon the positions outline (closed back to the first),
 * on a plane tangent at their mean latitude; 0 for fewer than three. Self-crossing
 * outlines count their lobes with opposite signs, as the shoelace formula does.
 *
 * polygonAreaSquareMetres([[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001]]) is about 12 309.
 */
export function polygonAreaSquareMetres(ring: Position[]): number {
  if (ring.length < 3) return 0;
  const latitude = ring.reduce((sum, p) => sum + p[1], 0) / ring.length;
  const perDegree = metresPerDegree(latitude);
  let twiceArea = 0;
  for (const [i, a] of ring.entries()) {
    const b = ring[(i + 1) % ring.length] ?? a;
    twiceArea += a[0] * perDegree.x * (b[1] * perDegree.y) - b[0] * perDegree.x * (a[1] * perDegree.y);
  }
  return Math.abs(twiceArea) / 2;
}

/** What the measuring tool draws for its points: the path, and the outline once it has three. */
export function measurementFeatures(points: Position[]): FeatureCollection {
  const features: Feature[] = points.map((point) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: point }, properties: { part: 'point' } }));
  if (points.length >= 2) {
    features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: points }, properties: { part: 'path' } });
  }
  if (points.length >= 3) {
    features.push({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...points, points[0]]] }, properties: { part: 'area' } });
  }
  return { type: 'FeatureCollection', features };
}

/** The outer rings of a Polygon or MultiPolygon (bare, Feature or FeatureCollection). */
export function outerRings(value: unknown): Position[][] {
  const rings: Position[][] = [];
  const visit = (geometry: unknown) => {
    if (typeof geometry !== 'object' || geometry === null) return;
    const g = geometry as { type?: unknown; coordinates?: unknown; geometry?: unknown; features?: unknown };
    if (g.type === 'FeatureCollection' && Array.isArray(g.features)) g.features.forEach(visit);
    else if (g.type === 'Feature') visit(g.geometry);
    else if (g.type === 'Polygon' && Array.isArray(g.coordinates)) rings.push(positionsOf(g.coordinates[0]));
    else if (g.type === 'MultiPolygon' && Array.isArray(g.coordinates)) {
      for (const polygon of g.coordinates) if (Array.isArray(polygon)) rings.push(positionsOf(polygon[0]));
    }
  };
  visit(value);
  return rings.filter((ring) => ring.length >= 2);
}

/** The point of `rings` nearest to `point`, and how far it is (metres, on a plane
 * tangent at `point`): where an entrance clicked near the parcel's edge goes. */
export function nearestPointOnRings(point: Position, rings: Position[][]): { position: Position; distanceMetres: number } | null {
  const scale = metresPerDegree(point[1]);
  let best: { position: Position; distanceMetres: number } | null = null;
  for (const ring of rings) {
    for (let i = 0; i + 1 < ring.length; i += 1) {
      const a = ring[i] as Position;
      const b = ring[i + 1] as Position;
      const [ax, ay] = [(a[0] - point[0]) * scale.x, (a[1] - point[1]) * scale.y];
      const [bx, by] = [(b[0] - point[0]) * scale.x, (b[1] - point[1]) * scale.y];
      const [dx, dy] = [bx - ax, by - ay];
      const lengthSquared = dx * dx + dy * dy;
      const t = lengthSquared === 0 ? 0 : Math.min(1, Math.max(0, -(ax * dx + ay * dy) / lengthSquared));
      const [x, y] = [ax + t * dx, ay + t * dy];
      const distanceMetres = Math.hypot(x, y);
      if (best === null || distanceMetres < best.distanceMetres) {
        best = { position: [point[0] + x / scale.x, point[1] + y / scale.y], distanceMetres };
      }
    }
  }
  return best;
}

/** A closed GeoJSON Polygon from the points clicked around it (at least three). */
export function polygonOfPoints(points: Position[]): { type: 'Polygon'; coordinates: Position[][] } | null {
  if (points.length < 3) return null;
  const first = points[0] as Position;
  return { type: 'Polygon', coordinates: [[...points, first]] };
}

/** Positions typed as `latitude, longitude` pairs separated by `;` or new lines (the
 * order people read coordinates in), as GeoJSON `[longitude, latitude]`; or what is
 * wrong with the text. */
export function parseLatLonList(text: string): { positions: Position[] } | { problem: string } {
  const parts = text.split(/[;\n]/).map((part) => part.trim()).filter((part) => part !== '');
  const positions: Position[] = [];
  for (const [index, part] of parts.entries()) {
    const numbers = part.split(/[,\s]+/).filter((value) => value !== '').map(Number);
    const [lat, lon] = numbers;
    if (numbers.length !== 2 || lat === undefined || lon === undefined || !Number.isFinite(lat) || !Number.isFinite(lon)) {
      return { problem: `Point ${index + 1} ("${part}") is not "latitude, longitude".` };
    }
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      return { problem: `Point ${index + 1} (${part}) is off the globe: latitude within ±90, longitude within ±180.` };
    }
    positions.push([lon, lat]);
  }
  if (positions.length === 0) return { problem: 'Type at least one "latitude, longitude".' };
  return { positions };
}
