import { describe, expect, it } from 'vitest';
import { assetLabelTexts, placeLabels } from './labels';
import type { LabelCandidate } from './labels';
import { nearestPointOnRings, outerRings, parseLatLonList, polygonOfPoints } from './geometry';

const width = (text: string) => text.length * 7;

describe('placeLabels', () => {
  it('never lets two labels overlap and prefers the bigger asset', () => {
    const candidates: LabelCandidate[] = [
      { id: 'small', x: 100, y: 100, texts: ['Pump house 2', 'PH2'], priority: 1 },
      { id: 'big', x: 105, y: 102, texts: ['Warehouse 1', 'W1'], priority: 10 },
      { id: 'far', x: 300, y: 300, texts: ['Office'], priority: 5 },
    ];
    const placed = placeLabels(candidates, width, 14, { width: 400, height: 400 });
    expect(placed.map((label) => label.id)).toEqual(['big', 'far']);
    expect(placed[0]?.text).toBe('Warehouse 1');
  });

  it('falls back to the short text where the full one does not fit', () => {
    const candidates: LabelCandidate[] = [
      { id: 'a', x: 50, y: 50, texts: ['Alpha'], priority: 2 },
      { id: 'b', x: 105, y: 50, texts: ['Long warehouse name', 'LWN2'], priority: 1 },
    ];
    const placed = placeLabels(candidates, width, 14, { width: 400, height: 400 });
    expect(placed.map((label) => label.text)).toEqual(['Alpha', 'LWN2']);
  });

  it('keeps labels inside the map and places hundreds without overlap', () => {
    const candidates: LabelCandidate[] = [];
    for (let i = 0; i < 400; i += 1) {
      candidates.push({ id: `building-${i}`, x: (i % 20) * 21 + 3, y: Math.floor(i / 20) * 17, texts: assetLabelTexts('Warehouse', `building-${i}`, true), priority: i % 7 });
    }
    const placed = placeLabels(candidates, width, 14, { width: 420, height: 340 });
    expect(placed.length).toBeGreaterThan(20);
    for (const label of placed) {
      expect(label.left).toBeGreaterThanOrEqual(0);
      expect(label.left + label.width).toBeLessThanOrEqual(420);
    }
    for (let i = 0; i < placed.length; i += 1) {
      for (let j = i + 1; j < placed.length; j += 1) {
        const [a, b] = [placed[i], placed[j]];
        if (!a || !b) continue;
        const apart = a.left + a.width <= b.left || b.left + b.width <= a.left || a.top + a.height <= b.top || b.top + b.height <= a.top;
        expect(apart, `${a.id} and ${b.id} overlap`).toBe(true);
      }
    }
  });
});

describe('assetLabelTexts', () => {
  it('numbers shared names and abbreviates with initials', () => {
    expect(assetLabelTexts('Pump house', 'building-12', true)).toEqual(['Pump house 12', 'PH12']);
    expect(assetLabelTexts('Office', 'building-1', false)).toEqual(['Office', 'O1']);
  });
});

describe('entrances and drawn exclusions', () => {
  const square = { type: 'Polygon', coordinates: [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]], [[0.004, 0.004], [0.006, 0.004], [0.006, 0.006], [0.004, 0.004]]] };

  it('snaps a click to the nearest point of an outer ring, never a hole', () => {
    const rings = outerRings({ type: 'Feature', properties: {}, geometry: square });
    expect(rings).toHaveLength(1);
    const near = nearestPointOnRings([0.005, 0.0001], rings);
    expect(near?.position[0]).toBeCloseTo(0.005, 9);
    expect(near?.position[1]).toBeCloseTo(0, 9);
    expect(near?.distanceMetres).toBeGreaterThan(10);
    expect(near?.distanceMetres).toBeLessThan(12);
    // Next to the hole, the outer edge is still where it goes.
    const middle = nearestPointOnRings([0.0041, 0.005], rings);
    expect(middle?.position[0]).toBeCloseTo(0, 9);
  });

  it('closes a clicked outline into a polygon from three points', () => {
    expect(polygonOfPoints([[0, 0], [1, 0]])).toBeNull();
    expect(polygonOfPoints([[0, 0], [1, 0], [1, 1]])?.coordinates[0]).toEqual([[0, 0], [1, 0], [1, 1], [0, 0]]);
  });
});

describe('coordinates typed instead of clicked', () => {
  it('reads latitude, longitude pairs into GeoJSON order', () => {
    expect(parseLatLonList('39.352, -103.402; 39.353 -103.401\n39.3535,-103.4')).toEqual({
      positions: [[-103.402, 39.352], [-103.401, 39.353], [-103.4, 39.3535]],
    });
  });

  it('says which point is wrong', () => {
    expect(parseLatLonList('39.35, -103.4; 39.35')).toEqual({ problem: 'Point 2 ("39.35") is not "latitude, longitude".' });
    expect(parseLatLonList('139.35, -103.4')).toEqual({ problem: 'Point 1 (139.35, -103.4) is off the globe: latitude within ±90, longitude within ±180.' });
    expect(parseLatLonList('  ')).toEqual({ problem: 'Type at least one "latitude, longitude".' });
  });
});
