// The map: MapLibre GL with no tile server by default (a plain background, a metre grid
// and a scale bar), an optional raster basemap, the console's layers (parcel,
// candidate exclusions, buildable area, slope classes, layout assets and roads,
// violations, an outline being drawn), asset labels that never overprint, and a
// measuring tool (distances and areas clicked on the map).
// Each map registers itself in `window.__entmoot.maps[name]` so end-to-end tests can
// ask it what it rendered (queryRenderedFeatures) instead of guessing from pixels.
import { useCallback, useEffect, useRef, useState } from 'react';
import maplibregl from 'maplibre-gl';
import type { ExpressionSpecification, GeoJSONSource, Map as MapLibreMap, MapLayerMouseEvent, StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import type { Basemap } from './config';
import { boundsOf, gridLines, measurementFeatures, pathLengthMetres, polygonAreaSquareMetres, positionsOfGeoJson, ringCentre } from './geometry';
import { assetLabelTexts, placeLabels } from './labels';
import type { FeatureCollection, Position } from './geometry';
import { formatArea, formatLength } from './format';

export const ASSET_COLOURS: Record<string, string> = {
  building: '#3b6fb6',
  parking_lot: '#7a7a7a',
  equipment_yard: '#b8862b',
  storage_tank: '#7b4fa8',
  pond: '#2a9bb5',
  custom: '#4f8a3c',
};
export const ROAD_COLOURS: Record<string, string> = { main: '#333333', secondary: '#8a6d3b', access: '#828282' };
export const VIOLATION_COLOUR = '#d7191c';

export interface MapData {
  boundary?: FeatureCollection | null;
  candidates?: FeatureCollection | null;
  exclusions?: FeatureCollection | null;
  buildable?: FeatureCollection | null;
  layout?: FeatureCollection | null;
  /** Slope classes: polygons with a `class` index (0 is the gentlest). */
  slope?: FeatureCollection | null;
  /** The site's entrances as Points (the layout carries its own). */
  entrances?: FeatureCollection | null;
  /** What is being drawn: `measurementFeatures` of the points clicked so far. */
  draft?: FeatureCollection | null;
  violatingAssetIds?: string[];
  selectedAssetId?: string | null;
}

export interface MapViewProps {
  /** The name tests find the map by (window.__entmoot.maps[name]). */
  name: string;
  label: string;
  data: MapData;
  basemap: Basemap | null;
  onAssetClick?: (assetId: string | null) => void;
  onAssetHover?: (properties: Record<string, unknown> | null) => void;
  /** Enables dragging assets; called with the drag's offset in degrees. */
  onAssetDragged?: (assetId: string, dx: number, dy: number) => void;
  onCandidateClick?: (index: number) => void;
  /** When set, a click on the map gives its position here (drawing, placing) instead
   * of selecting what is under it. */
  onMapClick?: ((position: Position) => void) | null;
  /** Draws the layout's asset names (those that fit without overprinting). */
  labels?: boolean;
}

declare global {
  interface Window {
    __entmoot?: { maps: Record<string, MapLibreMap> };
  }
}

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };
const SOURCES = ['grid', 'boundary', 'slope', 'candidates', 'exclusions', 'buildable', 'layout', 'entrances', 'draft', 'measure'] as const;
const MEASURE_COLOUR = '#0b5cad';
const DRAFT_COLOUR = '#c2185b';
/** Slope classes from gentle to steep (ColorBrewer RdYlGn, reversed). */
export const SLOPE_COLOURS = ['#1a9850', '#91cf60', '#d9ef8b', '#fee08b', '#fc8d59', '#d73027', '#a50026'];
export function slopeColour(index: number, classes: number): string {
  if (classes <= 1) return SLOPE_COLOURS[0] ?? '#1a9850';
  const at = Math.round((index / (classes - 1)) * (SLOPE_COLOURS.length - 1));
  return SLOPE_COLOURS[at] ?? '#a50026';
}

/** A `match` on a property with one colour per value (MapLibre's tuple type wants the
 * pairs spelled out, so the array is built and typed once here). */
function matchExpression(property: string, colours: Record<string, string>, fallback: string): ExpressionSpecification {
  return ['match', ['get', property], ...Object.entries(colours).flat(), fallback] as unknown as ExpressionSpecification;
}

function baseStyle(): StyleSpecification {
  const sources: StyleSpecification['sources'] = {};
  for (const source of SOURCES) sources[source] = { type: 'geojson', data: EMPTY };
  const assetColour = matchExpression('asset_type', ASSET_COLOURS, '#4f8a3c');
  return {
    version: 8,
    sources,
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } },
      { id: 'grid', type: 'line', source: 'grid', paint: { 'line-color': '#d8d2c4', 'line-width': 1 } },
      { id: 'boundary-fill', type: 'fill', source: 'boundary', paint: { 'fill-color': '#e8f0d8', 'fill-opacity': 0.6 } },
      { id: 'slope-fill', type: 'fill', source: 'slope', paint: { 'fill-color': ['get', 'colour'], 'fill-opacity': 0.55 } },
      { id: 'boundary-line', type: 'line', source: 'boundary', paint: { 'line-color': '#2d5016', 'line-width': 2 } },
      { id: 'buildable-line', type: 'line', source: 'buildable', paint: { 'line-color': '#2d5016', 'line-width': 1.5, 'line-dasharray': [3, 2] } },
      { id: 'exclusions-fill', type: 'fill', source: 'exclusions', paint: { 'fill-color': '#e67e22', 'fill-opacity': 0.35 } },
      { id: 'exclusions-line', type: 'line', source: 'exclusions', paint: { 'line-color': '#b35900', 'line-width': 1.5 } },
      {
        id: 'candidates-fill', type: 'fill', source: 'candidates',
        paint: { 'fill-color': ['case', ['get', 'chosen'], '#e67e22', '#9aa0a6'], 'fill-opacity': 0.45 },
      },
      { id: 'candidates-line', type: 'line', source: 'candidates', paint: { 'line-color': '#555555', 'line-width': 1 } },
      { id: 'layout-buildable', type: 'line', source: 'layout', filter: ['==', ['get', 'kind'], 'buildable'], paint: { 'line-color': '#2d5016', 'line-width': 1.5, 'line-dasharray': [3, 2] } },
      { id: 'layout-exclusions', type: 'fill', source: 'layout', filter: ['==', ['get', 'kind'], 'exclusion'], paint: { 'fill-color': '#e67e22', 'fill-opacity': 0.35 } },
      { id: 'layout-steep-ground', type: 'fill', source: 'layout', filter: ['==', ['get', 'kind'], 'steep_ground'], paint: { 'fill-color': STEEP_GROUND_COLOUR, 'fill-opacity': 0.3 } },
      {
        id: 'layout-roads', type: 'line', source: 'layout', filter: ['==', ['get', 'kind'], 'road'],
        paint: {
          'line-color': matchExpression('class', ROAD_COLOURS, '#333333'),
          'line-width': 3,
        },
      },
      { id: 'layout-assets', type: 'fill', source: 'layout', filter: ['==', ['get', 'kind'], 'asset'], paint: { 'fill-color': assetColour, 'fill-opacity': 0.8 } },
      { id: 'layout-assets-outline', type: 'line', source: 'layout', filter: ['==', ['get', 'kind'], 'asset'], paint: { 'line-color': '#1b1b1b', 'line-width': 1 } },
      { id: 'layout-violations', type: 'line', source: 'layout', filter: ['all', ['==', ['get', 'kind'], 'asset'], ['in', ['get', 'asset_id'], ['literal', []]]], paint: { 'line-color': VIOLATION_COLOUR, 'line-width': 4 } },
      { id: 'layout-selected', type: 'line', source: 'layout', filter: ['all', ['==', ['get', 'kind'], 'asset'], ['==', ['get', 'asset_id'], '']], paint: { 'line-color': '#ffd400', 'line-width': 3 } },
      { id: 'layout-entrances', type: 'circle', source: 'layout', filter: ['==', ['get', 'kind'], 'entrance'], paint: { 'circle-radius': 6, 'circle-color': '#ffffff', 'circle-stroke-color': '#2d5016', 'circle-stroke-width': 3 } },
      { id: 'site-entrances', type: 'circle', source: 'entrances', paint: { 'circle-radius': 7, 'circle-color': '#ffffff', 'circle-stroke-color': '#2d5016', 'circle-stroke-width': 3 } },
      { id: 'draft-area', type: 'fill', source: 'draft', filter: ['==', ['get', 'part'], 'area'], paint: { 'fill-color': DRAFT_COLOUR, 'fill-opacity': 0.2 } },
      { id: 'draft-path', type: 'line', source: 'draft', filter: ['==', ['get', 'part'], 'path'], paint: { 'line-color': DRAFT_COLOUR, 'line-width': 2 } },
      { id: 'draft-points', type: 'circle', source: 'draft', filter: ['==', ['get', 'part'], 'point'], paint: { 'circle-radius': 4, 'circle-color': '#ffffff', 'circle-stroke-color': DRAFT_COLOUR, 'circle-stroke-width': 2 } },
      { id: 'measure-area', type: 'fill', source: 'measure', filter: ['==', ['get', 'part'], 'area'], paint: { 'fill-color': MEASURE_COLOUR, 'fill-opacity': 0.12 } },
      { id: 'measure-path', type: 'line', source: 'measure', filter: ['==', ['get', 'part'], 'path'], paint: { 'line-color': MEASURE_COLOUR, 'line-width': 2, 'line-dasharray': [2, 1] } },
      { id: 'measure-points', type: 'circle', source: 'measure', filter: ['==', ['get', 'part'], 'point'], paint: { 'circle-radius': 4, 'circle-color': '#ffffff', 'circle-stroke-color': MEASURE_COLOUR, 'circle-stroke-width': 2 } },
    ],
  };
}

function setSource(map: MapLibreMap, id: string, data: FeatureCollection | null | undefined): void {
  const source = map.getSource<GeoJSONSource>(id);
  source?.setData((data ?? EMPTY) as Parameters<GeoJSONSource['setData']>[0]);
}

export function MapView(props: MapViewProps) {
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | null>(null);
  const [ready, setReady] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const handlers = useRef(props);
  handlers.current = props;
  const { name, data, basemap } = props;
  // The measuring tool: while it is on, clicks add points instead of selecting.
  const [measuring, setMeasuring] = useState(false);
  const [measured, setMeasured] = useState<Position[]>([]);
  const measuringRef = useRef(false);
  measuringRef.current = measuring;
  const stopMeasuring = useCallback(() => {
    setMeasuring(false);
    setMeasured([]);
  }, []);

  useEffect(() => {
    if (container.current === null) return;
    let map: MapLibreMap;
    try {
      map = new maplibregl.Map({
        container: container.current,
        style: baseStyle(),
        center: [0, 0],
        zoom: 1,
        attributionControl: { compact: true },
        dragRotate: false,
      });
    } catch (error) {
      setFailure(`The map cannot be drawn in this browser (WebGL): ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 140 }), 'bottom-left');
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    map.on('load', () => setReady(true));
    map.on('error', (event) => console.warn('map:', event.error?.message));
    mapRef.current = map;
    window.__entmoot ??= { maps: {} };
    window.__entmoot.maps[name] = map;

    let dragging: { assetId: string; start: maplibregl.LngLat } | null = null;
    const picking = () => measuringRef.current || Boolean(handlers.current.onMapClick);
    map.on('click', (event) => {
      const position: Position = [event.lngLat.lng, event.lngLat.lat];
      if (measuringRef.current) setMeasured((points) => [...points, position]);
      else handlers.current.onMapClick?.(position);
    });
    map.on('click', 'layout-assets', (event: MapLayerMouseEvent) => {
      if (picking()) return;
      const id = event.features?.[0]?.properties?.asset_id;
      handlers.current.onAssetClick?.(typeof id === 'string' ? id : null);
    });
    map.on('click', 'candidates-fill', (event: MapLayerMouseEvent) => {
      if (picking()) return;
      const index = event.features?.[0]?.properties?.index;
      if (typeof index === 'number') handlers.current.onCandidateClick?.(index);
    });
    map.on('mousemove', 'layout-assets', (event: MapLayerMouseEvent) => {
      map.getCanvas().style.cursor = handlers.current.onAssetDragged ? 'move' : 'pointer';
      handlers.current.onAssetHover?.(event.features?.[0]?.properties ?? null);
    });
    map.on('mouseleave', 'layout-assets', () => {
      map.getCanvas().style.cursor = '';
      handlers.current.onAssetHover?.(null);
    });
    map.on('mousedown', 'layout-assets', (event: MapLayerMouseEvent) => {
      const id = event.features?.[0]?.properties?.asset_id;
      if (picking() || !handlers.current.onAssetDragged || typeof id !== 'string') return;
      event.preventDefault();
      dragging = { assetId: id, start: event.lngLat };
    });
    map.on('mouseup', (event) => {
      if (dragging === null) return;
      const { assetId, start } = dragging;
      dragging = null;
      const [dx, dy] = [event.lngLat.lng - start.lng, event.lngLat.lat - start.lat];
      if (dx !== 0 || dy !== 0) handlers.current.onAssetDragged?.(assetId, dx, dy);
    });
    return () => {
      if (window.__entmoot?.maps[name] === map) delete window.__entmoot.maps[name];
      map.remove();
      mapRef.current = null;
      setReady(false);
    };
  }, [name]);

  // Data: every source set from props; the view fits the parcel when it changes.
  const boundaryKey = JSON.stringify(data.boundary ?? data.layout?.features.find((f) => f.properties?.kind === 'boundary') ?? null);
  useEffect(() => {
    const map = mapRef.current;
    if (!ready || map === null) return;
    const parcel = data.boundary ?? (data.layout ? { type: 'FeatureCollection' as const, features: data.layout.features.filter((f) => f.properties?.kind === 'boundary') } : null);
    setSource(map, 'boundary', parcel);
    setSource(map, 'candidates', data.candidates);
    setSource(map, 'exclusions', data.exclusions);
    setSource(map, 'buildable', data.buildable);
    setSource(map, 'layout', data.layout);
    setSource(map, 'slope', data.slope);
    setSource(map, 'entrances', data.entrances);
    setSource(map, 'draft', data.draft);
    map.setFilter('layout-violations', ['all', ['==', ['get', 'kind'], 'asset'], ['in', ['get', 'asset_id'], ['literal', data.violatingAssetIds ?? []]]]);
    map.setFilter('layout-selected', ['all', ['==', ['get', 'kind'], 'asset'], ['==', ['get', 'asset_id'], data.selectedAssetId ?? '']]);
  }, [ready, data]);

  useEffect(() => {
    const map = mapRef.current;
    if (!ready || map === null) return;
    const bounds = boundsOf(positionsOfGeoJson(JSON.parse(boundaryKey)));
    if (bounds === null) return;
    setSource(map, 'grid', gridLines(bounds).collection);
    map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]], { padding: 40, animate: false });
  }, [ready, boundaryKey]);

  useEffect(() => {
    const map = mapRef.current;
    if (!ready || map === null) return;
    setSource(map, 'measure', measurementFeatures(measured));
    // A double click adds two points rather than zooming while measuring or drawing.
    const picking = measuring || Boolean(props.onMapClick);
    if (picking) map.doubleClickZoom.disable();
    else map.doubleClickZoom.enable();
    map.getCanvas().style.cursor = picking ? 'crosshair' : '';
  }, [ready, measuring, measured, props.onMapClick]);

  // Labels: placed again after every frame the map draws (moves, zooms, new data), in
  // a layer of plain elements above the canvas.
  const labelLayer = useRef<HTMLDivElement>(null);
  const showLabels = props.labels === true;
  useEffect(() => {
    const map = mapRef.current;
    const layer = labelLayer.current;
    if (!ready || map === null || layer === null) return;
    if (!showLabels) { layer.replaceChildren(); return; }
    const assets = (data.layout?.features ?? []).filter((f) => f.properties?.kind === 'asset');
    const nameCounts = new Map<string, number>();
    for (const asset of assets) {
      const assetName = String(asset.properties?.name ?? '');
      nameCounts.set(assetName, (nameCounts.get(assetName) ?? 0) + 1);
    }
    const anchors = assets.flatMap((asset) => {
      const centre = ringCentre(asset.geometry.coordinates);
      const id = String(asset.properties?.asset_id ?? '');
      const assetName = String(asset.properties?.name ?? id);
      const footprint = Number(asset.properties?.width ?? 0) * Number(asset.properties?.length ?? 0);
      return centre ? [{ id, centre, footprint, texts: assetLabelTexts(assetName, id, (nameCounts.get(assetName) ?? 0) > 1) }] : [];
    });
    const context = document.createElement('canvas').getContext('2d');
    const font = '600 12px system-ui, sans-serif';
    if (context) context.font = font;
    const widths = new Map<string, number>();
    const textWidth = (text: string) => {
      let width = widths.get(text);
      if (width === undefined) { width = Math.ceil((context?.measureText(text).width ?? text.length * 7) + 6); widths.set(text, width); }
      return width;
    };
    let frame = 0;
    const place = () => {
      frame = 0;
      // Measured (performance entries named `entmoot-labels`) by e2e/render_bench.mjs.
      const started = performance.now();
      const canvas = map.getCanvas();
      const candidates = anchors.map((anchor) => {
        const point = map.project(anchor.centre);
        return { id: anchor.id, x: point.x, y: point.y, texts: anchor.texts, priority: anchor.footprint };
      });
      const placed = placeLabels(candidates, textWidth, 16, { width: canvas.clientWidth, height: canvas.clientHeight });
      layer.replaceChildren(...placed.map((label) => {
        const element = document.createElement('span');
        element.className = 'map-label';
        element.textContent = label.text;
        element.dataset.assetId = label.id;
        element.style.transform = `translate(${Math.round(label.left)}px, ${Math.round(label.top)}px)`;
        element.style.width = `${label.width}px`;
        return element;
      }));
      layer.dataset.labelsShown = String(placed.length);
      layer.dataset.labelsOffered = String(anchors.length);
      performance.measure('entmoot-labels', { start: started });
    };
    const schedule = () => { if (frame === 0) frame = requestAnimationFrame(place); };
    map.on('render', schedule);
    schedule();
    return () => {
      map.off('render', schedule);
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, [ready, data.layout, showLabels]);

  useEffect(() => {
    if (!measuring) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') stopMeasuring();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [measuring, stopMeasuring]);

  useEffect(() => {
    const map = mapRef.current;
    if (!ready || map === null) return;
    if (map.getLayer('basemap')) map.removeLayer('basemap');
    if (map.getSource('basemap')) map.removeSource('basemap');
    if (basemap !== null) {
      map.addSource('basemap', { type: 'raster', tiles: basemap.tiles, tileSize: 256, attribution: basemap.attribution, maxzoom: 19 });
      map.addLayer({ id: 'basemap', type: 'raster', source: 'basemap' }, 'grid');
    }
  }, [ready, basemap]);

  return (
    <div className="map-frame">
      <div ref={container} className="map" role="region" aria-label={props.label} data-map-name={name} data-ready={ready} />
      <div ref={labelLayer} className="map-labels" aria-hidden="true" data-testid={`${name}-labels`} />
      {failure && <p className="error" role="alert">{failure}</p>}
      {ready && (
        <div className="measure-tool">
          <button type="button" aria-pressed={measuring} onClick={() => (measuring ? stopMeasuring() : setMeasuring(true))}>
            {measuring ? 'Stop measuring' : 'Measure'}
          </button>
          {measuring && (
            <>
              <p data-testid="measure-readout" data-points={measured.length} aria-live="polite">
                {measurementText(measured)}
              </p>
              <button type="button" disabled={measured.length === 0} onClick={() => setMeasured((points) => points.slice(0, -1))}>Remove last point</button>
              <button type="button" disabled={measured.length === 0} onClick={() => setMeasured([])}>Clear</button>
            </>
          )}
        </div>
      )}
    </div>
  );
}

/** The measuring tool's reading: the path's length, and the area once three points outline one. */
function measurementText(points: Position[]): string {
  if (points.length === 0) return 'Click the map to add points (Escape stops).';
  if (points.length === 1) return 'Click the next point.';
  const distance = `Distance ${formatLength(pathLengthMetres(points))}`;
  if (points.length < 3) return distance;
  return `${distance} · Area ${formatArea(polygonAreaSquareMetres(points))} (outline closed back to the first point)`;
}

/** Ground the DEM shows steeper than the program allows (the layout's `steep_ground`). */
const STEEP_GROUND_COLOUR = '#8c5a1e';

export function Legend({ assetTypes, roadClasses }: { assetTypes: string[]; roadClasses: string[] }) {
  return (
    <ul className="legend" aria-label="Map legend">
      {assetTypes.map((type) => (
        <li key={type}><span className="swatch" style={{ background: ASSET_COLOURS[type] ?? '#4f8a3c' }} />{type.replace('_', ' ')}</li>
      ))}
      {roadClasses.map((roadClass) => (
        <li key={roadClass}><span className="swatch line" style={{ background: ROAD_COLOURS[roadClass] ?? '#333333' }} />{roadClass} road</li>
      ))}
      <li><span className="swatch" style={{ background: '#e67e22' }} />exclusion</li>
      <li><span className="swatch" style={{ background: STEEP_GROUND_COLOUR }} />steep ground (over the program's slope limit)</li>
      <li><span className="swatch dashed" />setback line (buildable area)</li>
      <li><span className="swatch ring" />entrance</li>
      <li><span className="swatch" style={{ borderColor: VIOLATION_COLOUR, borderWidth: 3, borderStyle: 'solid' }} />violation</li>
    </ul>
  );
}
