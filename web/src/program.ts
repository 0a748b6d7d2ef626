// The program form's model and its conversion to the program JSON of
// `createJob(input: {program})` (the format of `entmoot solve --program`).

export const ASSET_TYPES = ['building', 'parking_lot', 'equipment_yard', 'storage_tank', 'pond', 'custom'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];
export const SIDES = ['north', 'east', 'south', 'west'] as const;
export type Side = (typeof SIDES)[number];
export type Units = 'm' | 'ft';
export type FootprintShape = 'rectangle' | 'circle' | 'polygon';

export interface AssetLine {
  name: string;
  type: AssetType;
  footprint: FootprintShape;
  width: number;
  length: number;
  /** A polygon footprint's vertices as typed: `x,y; x,y; …` in the program's units. */
  vertices: string;
  quantity: number;
  priority: number;
}

/** A polygon footprint's vertices from `x,y; x,y; …`, or what is wrong with the text. */
export function parseVertices(text: string): { vertices: [number, number][] } | { problem: string } {
  const parts = text.split(';').map((part) => part.trim()).filter((part) => part !== '');
  const vertices: [number, number][] = [];
  for (const [index, part] of parts.entries()) {
    const numbers = part.split(',').map((value) => value.trim());
    const [x, y] = numbers.map(Number);
    if (numbers.length !== 2 || x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y) || numbers.some((value) => value === '')) {
      return { problem: `Vertex ${index + 1} ("${part}") is not x,y.` };
    }
    vertices.push([x, y]);
  }
  if (vertices.length < 3) return { problem: 'A polygon needs at least 3 vertices, as x,y; x,y; x,y.' };
  if (vertices.length > 200) return { problem: `A polygon has at most 200 vertices, not ${vertices.length}.` };
  return { vertices };
}

export interface PairSpacing {
  between: [AssetType, AssetType];
  spacing: number;
}

export interface ProgramForm {
  units: Units;
  setback: number;
  sideSetbacks: Partial<Record<Side, number>>;
  minSpacing: number;
  pairSpacings: PairSpacing[];
  /** Percent of the parcel, 1 to 100. */
  coveragePercent: number;
  assets: AssetLine[];
}

/** The five objective weights; an empty one keeps the program's (or the default). */
export const OBJECTIVES = [
  ['cost', 'Cost', 40], ['buildableArea', 'Buildable area', 30], ['accessibility', 'Accessibility', 15],
  ['environmentalImpact', 'Environmental impact', 10], ['aesthetics', 'Aesthetics', 5],
] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number][0];

export interface RunForm {
  objectiveWeights: Partial<Record<ObjectiveName, number>>;
  strategy: string;
  parameters: Record<string, unknown>;
  seed: number | null;
  timeLimitSeconds: number | null;
  alternatives: number;
}

export function newAssetLine(): AssetLine {
  return { name: 'Building', type: 'building', footprint: 'rectangle', width: 60, length: 80, vertices: '', quantity: 1, priority: 0 };
}

export function defaultProgram(): ProgramForm {
  return {
    units: 'ft',
    setback: 20,
    sideSetbacks: {},
    minSpacing: 10,
    pairSpacings: [],
    coveragePercent: 40,
    assets: [{ ...newAssetLine(), name: 'Warehouse', quantity: 3 }],
  };
}

/** Problems the form can see before asking the API, keyed by field path. */
export function programFormProblems(form: ProgramForm): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!(form.setback >= 0)) problems.setback = 'The setback must be 0 or more.';
  if (!(form.minSpacing >= 0)) problems.min_spacing = 'The spacing must be 0 or more.';
  if (!(form.coveragePercent > 0 && form.coveragePercent <= 100)) {
    problems.max_coverage = 'The coverage limit must be above 0 % and at most 100 %.';
  }
  if (form.assets.length === 0) problems.assets = 'Add at least one asset line.';
  form.assets.forEach((asset, index) => {
    if (asset.name.trim() === '') problems[`assets.${index}.name`] = 'Give the asset a name.';
    if (asset.footprint === 'polygon') {
      const parsed = parseVertices(asset.vertices);
      if ('problem' in parsed) problems[`assets.${index}.footprint`] = parsed.problem;
    } else {
      if (!(asset.width > 0)) problems[`assets.${index}.width`] = 'The width must be above 0.';
      if (asset.footprint !== 'circle' && !(asset.length > 0)) problems[`assets.${index}.length`] = 'The length must be above 0.';
    }
    if (!(Number.isInteger(asset.quantity) && asset.quantity >= 1)) {
      problems[`assets.${index}.quantity`] = 'The quantity must be a whole number, 1 or more.';
    }
  });
  return problems;
}

/** The program JSON the API takes. A circle's length is its width (the diameter). */
export function programJson(form: ProgramForm): Record<string, unknown> {
  const program: Record<string, unknown> = {
    units: form.units,
    setback: form.setback,
    min_spacing: form.minSpacing,
    max_coverage: form.coveragePercent / 100,
    assets: form.assets.map((asset) => {
      const common = { name: asset.name.trim(), type: asset.type, quantity: asset.quantity, priority: asset.priority };
      if (asset.footprint === 'polygon') {
        // Its bounding box is its size: no width or length is sent with it.
        const parsed = parseVertices(asset.vertices);
        return { ...common, footprint: 'vertices' in parsed ? parsed.vertices : [] };
      }
      return {
        ...common,
        width: asset.width,
        length: asset.footprint === 'circle' ? asset.width : asset.length,
        footprint: asset.footprint,
      };
    }),
  };
  const sides = Object.entries(form.sideSetbacks).filter(([, value]) => typeof value === 'number' && value >= 0);
  if (sides.length > 0) program.side_setbacks = Object.fromEntries(sides);
  if (form.pairSpacings.length > 0) program.spacing_overrides = form.pairSpacings;
  return program;
}

/** A form from a program JSON the API returned (`Job.program`), to reuse it elsewhere. */
export function programFormFromJson(value: unknown): ProgramForm | null {
  if (typeof value !== 'object' || value === null) return null;
  const program = value as Record<string, unknown>;
  if (!Array.isArray(program.assets)) return null;
  const number = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  const assets: AssetLine[] = program.assets.flatMap((raw): AssetLine[] => {
    if (typeof raw !== 'object' || raw === null) return [];
    const asset = raw as Record<string, unknown>;
    const type = ASSET_TYPES.find((t) => t === asset.type) ?? 'custom';
    const polygon = Array.isArray(asset.footprint)
      ? asset.footprint.filter((v): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number'))
      : null;
    return [{
      name: typeof asset.name === 'string' ? asset.name : type,
      type,
      footprint: polygon ? 'polygon' : asset.footprint === 'circle' ? 'circle' : 'rectangle',
      width: number(asset.width, 1),
      length: number(asset.length, 1),
      vertices: polygon ? polygon.map(([x, y]) => `${x},${y}`).join('; ') : '',
      quantity: number(asset.quantity, 1),
      priority: number(asset.priority, 0),
    }];
  });
  const sideSetbacks: Partial<Record<Side, number>> = {};
  if (typeof program.side_setbacks === 'object' && program.side_setbacks !== null) {
    for (const side of SIDES) {
      const value = (program.side_setbacks as Record<string, unknown>)[side];
      if (typeof value === 'number') sideSetbacks[side] = value;
    }
  }
  return {
    units: program.units === 'm' ? 'm' : 'ft',
    setback: number(program.setback, 0),
    sideSetbacks,
    minSpacing: number(program.min_spacing, 0),
    pairSpacings: Array.isArray(program.spacing_overrides) ? (program.spacing_overrides as PairSpacing[]) : [],
    coveragePercent: number(program.max_coverage, 0.4) * 100,
    assets,
  };
}

/** Metres in one program unit. */
export function metresPerUnit(units: Units): number {
  return units === 'ft' ? 0.3048 : 1;
}

/** One field of a strategy's parameter schema, as the form renders it. */
export interface ParameterField {
  name: string;
  kind: 'integer' | 'number' | 'boolean' | 'string' | 'enum';
  description: string;
  defaultValue: unknown;
  minimum: number | null;
  maximum: number | null;
  options: string[];
}

/** The fields of a JSON Schema object of parameters (a strategy's manifest). */
export function parameterFields(schema: unknown): ParameterField[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const properties = (schema as { properties?: unknown }).properties;
  if (typeof properties !== 'object' || properties === null) return [];
  return Object.entries(properties as Record<string, unknown>).flatMap(([name, raw]): ParameterField[] => {
    if (typeof raw !== 'object' || raw === null) return [];
    const property = raw as Record<string, unknown>;
    const options = Array.isArray(property.enum) ? property.enum.filter((o): o is string => typeof o === 'string') : [];
    // An optional parameter is declared as ["number", "null"] (schemars writes Option<T>
    // so): the field is the one type besides null, and left empty it is not sent.
    const declared = Array.isArray(property.type) ? property.type.filter((t) => t !== 'null') : [property.type];
    const type = declared.length === 1 ? declared[0] : undefined;
    const kind: ParameterField['kind'] | null = options.length > 0 ? 'enum'
      : type === 'integer' ? 'integer'
        : type === 'number' ? 'number'
          : type === 'boolean' ? 'boolean'
            : type === 'string' ? 'string' : null;
    if (kind === null) return [];
    return [{
      name,
      kind,
      description: typeof property.description === 'string' ? property.description : '',
      defaultValue: property.default,
      minimum: typeof property.minimum === 'number' ? property.minimum : null,
      maximum: typeof property.maximum === 'number' ? property.maximum : null,
      options,
    }];
  });
}
