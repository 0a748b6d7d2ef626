import { describe, expect, it } from 'vitest';
import { pastedKeyProblem, readToken, tokenKind, writeToken, TOKEN_STORAGE_KEY } from './session';
import type { TokenStore } from './session';
import { EMPTY_HISTORY, pushEdit, redo, removedAssets, undo } from './history';
import { defaultProgram, newAssetLine, parameterFields, parseVertices, programFormFromJson, programFormProblems, programJson } from './program';
import { gridLines, gridStepMetres, measurementFeatures, pathLengthMetres, polygonAreaSquareMetres, ringCentre, positionsOfGeoJson } from './geometry';
import { formatArea, formatLength } from './format';
import { foldProgress } from './progress';
import { programFieldOf } from './errors';
import { parseRoute, routePath } from './router';

function memoryStore(): TokenStore & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

describe('session', () => {
  it('recognises keys and sessions and keeps only the token', () => {
    expect(tokenKind('emk_abcdefghij12_s3cretvalue')).toBe('apiKey');
    expect(tokenKind('ems_0123456789abcdef')).toBe('session');
    expect(tokenKind('hello')).toBeNull();
    expect(pastedKeyProblem('Bearer emk_abcdefghij12_secret')).toMatch(/without/);
    const store = memoryStore();
    writeToken(store, ' emk_abcdefghij12_s3cretvalue ');
    expect(store.items.get(TOKEN_STORAGE_KEY)).toBe('emk_abcdefghij12_s3cretvalue');
    expect(readToken(store)).toBe('emk_abcdefghij12_s3cretvalue');
    writeToken(store, null);
    expect(store.items.size).toBe(0);
  });
});

describe('edit history', () => {
  it('undoes and redoes in order, and a new edit clears redo', () => {
    let history = pushEdit(EMPTY_HISTORY, { kind: 'MOVE', assetId: 'building-1', position: [1, 2] });
    history = pushEdit(history, { kind: 'REMOVE', assetId: 'building-2' });
    expect(removedAssets(history)).toEqual(new Set(['building-2']));
    history = undo(history);
    expect(history.done).toHaveLength(1);
    expect(removedAssets(history).size).toBe(0);
    history = redo(history);
    expect(history.done.at(-1)?.kind).toBe('REMOVE');
    history = undo(history);
    history = pushEdit(history, { kind: 'ROTATE', assetId: 'building-1', rotationDeg: 15 });
    expect(history.undone).toHaveLength(0);
    expect(undo(undo(undo(history))).done).toHaveLength(0);
  });
});

describe('program', () => {
  it('writes the program JSON of entmoot solve', () => {
    const form = defaultProgram();
    form.sideSetbacks = { north: 60 };
    form.assets.push({ name: 'Tank', type: 'storage_tank', footprint: 'circle', width: 30, length: 99, vertices: '', quantity: 2, priority: 1 });
    const program = programJson(form);
    expect(program).toMatchObject({ units: 'ft', setback: 20, min_spacing: 10, max_coverage: 0.4, side_setbacks: { north: 60 } });
    expect(program.assets).toEqual([
      { name: 'Warehouse', type: 'building', width: 60, length: 80, footprint: 'rectangle', quantity: 3, priority: 0 },
      { name: 'Tank', type: 'storage_tank', width: 30, length: 30, footprint: 'circle', quantity: 2, priority: 1 },
    ]);
    expect(programFormFromJson(program)?.assets[1]?.type).toBe('storage_tank');
  });

  it('writes a polygon footprint as its vertices, without a size, and reads it back', () => {
    const form = defaultProgram();
    form.assets = [{ name: 'L block', type: 'building', footprint: 'polygon', width: 1, length: 1, vertices: '0,0; 40,0; 40,20; 20, 20;20,40;0,40', quantity: 2, priority: 0 }];
    const program = programJson(form);
    expect(program.assets).toEqual([
      { name: 'L block', type: 'building', quantity: 2, priority: 0, footprint: [[0, 0], [40, 0], [40, 20], [20, 20], [20, 40], [0, 40]] },
    ]);
    const again = programFormFromJson(program);
    expect(again?.assets[0]?.footprint).toBe('polygon');
    expect(again?.assets[0]?.vertices).toBe('0,0; 40,0; 40,20; 20,20; 20,40; 0,40');
    expect(programFormProblems(form)).toEqual({});
  });

  it('says which polygon vertex is not x,y', () => {
    expect(parseVertices('0,0; 10,0')).toEqual({ problem: 'A polygon needs at least 3 vertices, as x,y; x,y; x,y.' });
    expect(parseVertices('0,0; 10,zero; 5,5')).toEqual({ problem: 'Vertex 2 ("10,zero") is not x,y.' });
    expect(parseVertices('0,0; 10,; 5,5')).toEqual({ problem: 'Vertex 2 ("10,") is not x,y.' });
    const form = defaultProgram();
    form.assets = [{ ...newAssetLine(), footprint: 'polygon', vertices: '1,2,3; 4,5; 6,7' }];
    expect(programFormProblems(form)['assets.0.footprint']).toBe('Vertex 1 ("1,2,3") is not x,y.');
  });

  it('finds problems before asking the API, by field', () => {
    const form = defaultProgram();
    form.coveragePercent = 0;
    form.assets[0]!.quantity = 1.5;
    expect(Object.keys(programFormProblems(form)).sort()).toEqual(['assets.0.quantity', 'max_coverage']);
  });

  it('reads the parameter fields of a strategy manifest schema', () => {
    const fields = parameterFields({
      type: 'object',
      properties: {
        iterations: { type: 'integer', minimum: 1, default: 200, description: 'Search steps' },
        mode: { type: 'string', enum: ['fast', 'thorough'] },
        nested: { type: 'object' },
        grid_step_m: { type: ['number', 'null'], default: null },
        either: { type: ['number', 'string'] },
      },
    });
    expect(fields.map((f) => [f.name, f.kind])).toEqual([['iterations', 'integer'], ['mode', 'enum'], ['grid_step_m', 'number']]);
    expect(fields[0]).toMatchObject({ minimum: 1, defaultValue: 200 });
  });

  it('attaches API messages to the field they name', () => {
    expect(programFieldOf('assets[2].width must be positive')).toBe('assets.2.width');
    expect(programFieldOf('max_coverage must be in (0, 1]')).toBe('max_coverage');
    expect(programFieldOf('something else')).toBe('form');
  });
});

describe('geometry', () => {
  it('picks round grid steps and bounded grids', () => {
    expect(gridStepMetres(430)).toBe(50);
    expect(gridStepMetres(1000)).toBe(100);
    const { collection, stepMetres } = gridLines([-103.402, 39.35, -103.397, 39.354]);
    expect(stepMetres).toBe(50);
    expect(collection.features.length).toBeGreaterThan(10);
    expect(gridLines([-180, -85, 180, 85]).collection.features.length).toBeLessThanOrEqual(400);
  });

  it('finds centres and positions', () => {
    expect(ringCentre([[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]])).toEqual([1, 1]);
    expect(positionsOfGeoJson({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [3, 4] } }] }))
      .toEqual([[3, 4]]);
  });
});

describe('progress', () => {
  it('never moves back from a terminal status', () => {
    const done = { status: 'SUCCEEDED', percent: 100, elapsedSeconds: 2, at: '2026-01-01T00:00:02Z' };
    const late = { status: 'RUNNING', percent: 50, elapsedSeconds: 1, at: '2026-01-01T00:00:01Z' };
    expect(foldProgress(done, late)).toBe(done);
    expect(foldProgress(late, done)).toBe(done);
  });
});

describe('router', () => {
  it('round-trips every screen', () => {
    for (const path of ['/', '/projects/UHJvamVjdDox', '/sites/abc', '/jobs/def', '/admin']) {
      expect(routePath(parseRoute(path))).toBe(path);
    }
    expect(parseRoute('/nowhere/at/all').screen).toBe('notFound');
  });
});

describe('program reuse', () => {
  it('reads back what programJson wrote, units and pair spacings included', () => {
    const form = defaultProgram();
    form.units = 'm';
    form.pairSpacings = [{ between: ['building', 'pond'], spacing: 12 }];
    const again = programFormFromJson(JSON.parse(JSON.stringify(programJson(form))));
    expect(again).toEqual(form);
  });
});

describe('measuring', () => {
  it('measures paths and areas in metres on the ground', () => {
    expect(pathLengthMetres([])).toBe(0);
    expect(pathLengthMetres([[0, 0]])).toBe(0);
    // WGS84: a degree of latitude is 110 574 m at the equator and 111 412 m at 60°
    // (the ellipsoid flattens towards the poles); one of longitude at 60° is 55 800 m.
    expect(pathLengthMetres([[0, 0], [0, 0.001]])).toBeCloseTo(110.574, 3);
    expect(pathLengthMetres([[10, 59.9995], [10, 60.0005]])).toBeCloseTo(111.412, 2);
    expect(pathLengthMetres([[10, 60], [10.001, 60]])).toBeCloseTo(55.8, 2);
    // There and back counts twice.
    expect(pathLengthMetres([[0, 0], [0.001, 0], [0, 0]])).toBeCloseTo(222.639, 2);
    const square: [number, number][] = [[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001]];
    expect(polygonAreaSquareMetres(square)).toBeCloseTo(12_309, 0);
    // The winding does not matter, and two points enclose nothing.
    expect(polygonAreaSquareMetres([...square].reverse())).toBeCloseTo(12_309, 0);
    expect(polygonAreaSquareMetres(square.slice(0, 2))).toBe(0);
  });

  it('draws points, then the path, then the outline', () => {
    expect(measurementFeatures([[0, 0]]).features.map((f) => f.properties?.part)).toEqual(['point']);
    const three = measurementFeatures([[0, 0], [1, 0], [1, 1]]);
    expect(three.features.map((f) => f.properties?.part)).toEqual(['point', 'point', 'point', 'path', 'area']);
    expect(three.features[4]?.geometry.coordinates).toEqual([[[0, 0], [1, 0], [1, 1], [0, 0]]]);
  });

  it('says lengths and areas in units people read', () => {
    expect(formatLength(12.345)).toBe('12.3 m');
    expect(formatLength(12_345)).toBe('12.35 km');
    expect(formatArea(950.4)).toBe('950 m²');
    expect(formatArea(12_392)).toBe('1.24 ha (12,392 m²)');
  });
});
