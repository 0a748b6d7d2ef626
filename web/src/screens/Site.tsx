// A site: the parcel on the map with the buildable area as the setback changes, its
// exclusions and entrances edited on the map, its terrain as slope classes, the
// program editor, the strategy with its own parameters, and the site's jobs.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { ErrorBanner, useApi, useLoad } from '../api';
import { execute } from '../client';
import { describeError, isCombinedError, problemsOf, programFieldOf } from '../errors';
import { BuildableAreaQuery, CreateJobMutation, SiteQuery, SlopeClassesQuery, StrategiesQuery } from '../operations';
import { historyState, navigate } from '../router';
import { MapView, slopeColour } from '../MapView';
import { geometryCollection, measurementFeatures } from '../geometry';
import type { FeatureCollection, Position } from '../geometry';
import { formatNumber } from '../format';
import {
  ASSET_TYPES, OBJECTIVES, SIDES, defaultProgram, programFormFromJson, metresPerUnit, newAssetLine, parameterFields, programFormProblems, programJson,
} from '../program';
import type { AssetLine, AssetType, PairSpacing, ProgramForm, RunForm } from '../program';
import type { SiteQuery as SiteQueryData } from '../gql/graphql';
import { BasemapSetting, useBasemap } from './basemap';
import { SiteFeaturesPanel, TerrainPanel, siteMapClick } from './SiteFeatures';
import type { SiteDraft, SiteTool } from './SiteFeatures';

export function SiteScreen({ siteId }: { siteId: string }) {
  const site = useLoad(SiteQuery, { id: siteId });
  return (
    <section aria-labelledby="site-title">
      <ErrorBanner message={site.error} />
      {site.data && <SiteBody site={site.data.site} reload={site.reload} />}
    </section>
  );
}

type SiteData = SiteQueryData['site'];

function SiteBody({ site, reload }: { site: SiteData; reload: () => void }) {
  const { config } = useApi();
  const [basemap, setBasemap] = useBasemap();
  // A program handed over from a job ("Use this program for…"), else the default.
  const [program, setProgram] = useState<ProgramForm>(() => programFormFromJson(historyState('program')) ?? defaultProgram());
  const setbackMetres = Math.max(0, program.setback * metresPerUnit(program.units));
  const buildable = useLoad(BuildableAreaQuery, { id: site.id, setbackMetres });
  const buildableNode = buildable.data?.site.buildableArea ?? null;
  const slope = useLoad(SlopeClassesQuery, { id: site.id });
  const slopeClasses = slope.data?.site.slopeClasses ?? null;
  const [showSlope, setShowSlope] = useState(true);
  // Cached reads of the site (buildable area, slope map) are read again when it changes.
  const { reload: reloadBuildable } = buildable;
  const { reload: reloadSlope } = slope;
  const seenUpdate = useRef(site.updatedAt);
  useEffect(() => {
    if (seenUpdate.current === site.updatedAt) return;
    seenUpdate.current = site.updatedAt;
    reloadBuildable();
    reloadSlope();
  }, [site.updatedAt, reloadBuildable, reloadSlope]);

  // Editing the exclusions and entrances: a draft of both, the tool the map's clicks
  // serve, and the outline being drawn.
  const [draft, setDraft] = useState<SiteDraft | null>(null);
  const [tool, setTool] = useState<SiteTool>('none');
  const [outline, setOutline] = useState<Position[]>([]);
  const [mapProblem, setMapProblem] = useState<string | null>(null);
  const startEditing = useCallback(() => setDraft({
    exclusions: site.exclusionZones.map((zone) => ({ kind: zone.kind, bufferM: zone.bufferM, name: zone.name ?? '', geometry: zone.geometry })),
    entrances: site.entrances.map(([lon, lat]) => [lon ?? 0, lat ?? 0] as Position),
  }), [site.exclusionZones, site.entrances]);
  const onMapClick = useCallback((position: Position) => {
    if (draft === null) return;
    const next = siteMapClick(tool, site.boundary, position, draft, outline);
    setMapProblem(next.problem ?? null);
    if (next.draft) setDraft(next.draft);
    if (next.outline) setOutline(next.outline);
  }, [tool, site.boundary, draft, outline]);
  const addEntrance = useCallback((position: Position) => {
    if (draft === null) return;
    const next = siteMapClick('entrance', site.boundary, position, draft, outline);
    setMapProblem(next.problem ?? null);
    if (next.draft) setDraft(next.draft);
  }, [site.boundary, draft, outline]);

  const exclusions: FeatureCollection = useMemo(() => ({
    type: 'FeatureCollection',
    features: (draft?.exclusions ?? site.exclusionZones).flatMap((zone) => geometryCollection(zone.geometry, { kind: zone.kind }).features),
  }), [draft, site.exclusionZones]);
  const entrances: FeatureCollection = useMemo(() => ({
    type: 'FeatureCollection',
    features: (draft?.entrances ?? site.entrances).map((position, index) => ({
      type: 'Feature' as const, geometry: { type: 'Point', coordinates: position }, properties: { index },
    })),
  }), [draft, site.entrances]);
  const slopeLayer: FeatureCollection | null = useMemo(() => (showSlope && slopeClasses ? {
    type: 'FeatureCollection',
    features: slopeClasses.flatMap((slopeClass, index) => geometryCollection(slopeClass.geometry, { class: index, colour: slopeColour(index, slopeClasses.length) }).features),
  } : null), [showSlope, slopeClasses]);
  const mapData = useMemo(() => ({
    boundary: geometryCollection(site.boundary),
    exclusions,
    entrances,
    slope: slopeLayer,
    draft: tool === 'exclusion' ? measurementFeatures(outline) : null,
    buildable: buildableNode ? geometryCollection(buildableNode.geometry) : null,
  }), [site.boundary, exclusions, entrances, slopeLayer, tool, outline, buildableNode]);

  return (
    <>
      <p className="crumbs">
        <a href="/" onClick={(e) => { e.preventDefault(); navigate({ screen: 'projects' }); }}>Projects</a> ›{' '}
        <a href={`/projects/${site.project.id}`} onClick={(e) => { e.preventDefault(); navigate({ screen: 'project', projectId: site.project.id }); }}>{site.project.name}</a> › {site.name}
      </p>
      <h1 id="site-title">{site.name}</h1>
      <p>{formatNumber(site.areaM2 / 10_000, 2)} ha · {site.exclusionZones.length} exclusion{site.exclusionZones.length === 1 ? '' : 's'}
        {buildableNode && <> · buildable with a {formatNumber(setbackMetres)} m setback: <span data-testid="buildable-area">{formatNumber(buildableNode.areaM2 / 10_000, 2)} ha</span></>}
      </p>
      <div className="split">
        <div>
          <BasemapSetting basemaps={config.basemaps} value={basemap} onChange={setBasemap} />
          <MapView name="site" label="Site parcel, exclusions, entrances, slope and buildable area" basemap={basemap} data={mapData}
            onMapClick={draft !== null && tool !== 'none' ? onMapClick : null} />
          <SiteFeaturesPanel siteId={site.id} draft={draft} onDraftChange={setDraft} tool={tool} onToolChange={setTool}
            outline={outline} onOutlineChange={setOutline} onSaved={reload} onStart={startEditing} mapProblem={mapProblem}
            onAddEntrance={addEntrance} />
          <TerrainPanel siteId={site.id} projectId={site.project.id} terrainFile={site.terrainFile ?? null}
            slopeClasses={slopeClasses} slopeError={slope.error} showSlope={showSlope} onShowSlope={setShowSlope} onChanged={reload} />
        </div>
        <ProgramEditor siteId={site.id} program={program} onProgramChange={setProgram} />
      </div>
      <h2>Jobs</h2>
      {site.jobs.edges.length === 0 ? <p>No job yet.</p> : (
        <table>
          <caption className="visually-hidden">Jobs of this site, newest first</caption>
          <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Strategy</th><th scope="col">Created</th></tr></thead>
          <tbody>
            {site.jobs.edges.map(({ node: job }) => (
              <tr key={job.id}>
                <td><a href={`/jobs/${job.id}`} onClick={(e) => { e.preventDefault(); navigate({ screen: 'job', jobId: job.id }); }}>Open job</a></td>
                <td>{job.status}{job.error ? `: ${job.error}` : ''}</td>
                <td>{Math.round(job.progress * 100)} %</td>
                <td>{job.strategy}</td>
                <td>{new Date(job.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function FieldProblem({ problems, field }: { problems: Record<string, string>; field: string }): ReactNode {
  const problem = problems[field];
  return problem ? <span className="field-error" role="alert" id={`problem-${field}`}>{problem}</span> : null;
}

function NumberInput({ label, value, onChange, field, problems, min, step }: {
  label: string; value: number; onChange: (value: number) => void; field: string;
  problems: Record<string, string>; min?: number; step?: string;
}) {
  return (
    <label>{label}
      <input type="number" value={Number.isFinite(value) ? value : ''} min={min} step={step ?? 'any'}
        aria-invalid={problems[field] ? true : undefined} aria-describedby={problems[field] ? `problem-${field}` : undefined}
        onChange={(e) => onChange(e.target.value === '' ? Number.NaN : Number(e.target.value))} />
      <FieldProblem problems={problems} field={field} />
    </label>
  );
}

function ProgramEditor({ siteId, program, onProgramChange }: {
  siteId: string; program: ProgramForm; onProgramChange: (program: ProgramForm) => void;
}) {
  const { client } = useApi();
  const strategies = useLoad(StrategiesQuery, {});
  const [run, setRun] = useState<RunForm>({ objectiveWeights: {}, strategy: '', parameters: {}, seed: 1, timeLimitSeconds: 30, alternatives: 3 });
  const [apiProblems, setApiProblems] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const strategy = strategies.data?.strategies.find((s) => `${s.name}@${s.version}` === run.strategy) ?? null;
  const fields = useMemo(() => parameterFields(strategy?.parametersSchema), [strategy]);
  useEffect(() => {
    const defaults: Record<string, unknown> = {};
    for (const field of fields) if (field.defaultValue !== undefined) defaults[field.name] = field.defaultValue;
    setRun((current) => ({ ...current, parameters: defaults }));
  }, [fields]);

  const localProblems = programFormProblems(program);
  const problems = { ...localProblems, ...apiProblems };
  const setAsset = (index: number, change: Partial<AssetLine>) =>
    onProgramChange({ ...program, assets: program.assets.map((a, i) => (i === index ? { ...a, ...change } : a)) });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setApiProblems({});
    if (Object.keys(localProblems).length > 0) return;
    setBusy(true);
    try {
      const data = await execute(client, CreateJobMutation, {
        input: {
          siteId,
          program: programJson(program),
          strategy: run.strategy === '' ? null : run.strategy,
          parameters: strategy ? run.parameters : null,
          alternatives: run.alternatives,
          seed: run.seed,
          timeLimitSeconds: run.timeLimitSeconds,
          objectiveWeights: Object.keys(run.objectiveWeights).length > 0 ? run.objectiveWeights : null,
        },
      }, 'mutation');
      navigate({ screen: 'job', jobId: data.createJob.id });
    } catch (error) {
      const next: Record<string, string> = {};
      if (isCombinedError(error)) {
        for (const problem of problemsOf(error)) {
          const field = programFieldOf(problem.message);
          next[field] = next[field] ? `${next[field]}; ${problem.message}` : `${problem.message}${problem.code ? ` (${problem.code})` : ''}`;
        }
      } else {
        next.form = describeError(error);
      }
      setApiProblems(next);
    } finally {
      setBusy(false);
    }
  }

  const unit = program.units;
  return (
    <form className="panel program" onSubmit={(event) => void submit(event)} aria-labelledby="program-title" noValidate>
      <h2 id="program-title">Program</h2>
      <FieldProblem problems={problems} field="form" />
      <div className="inline">
        <label>Units
          <select value={program.units} onChange={(e) => onProgramChange({ ...program, units: e.target.value === 'm' ? 'm' : 'ft' })}>
            <option value="ft">feet</option><option value="m">metres</option>
          </select>
        </label>
        <NumberInput label={`Setback (${unit})`} field="setback" problems={problems} min={0} value={program.setback} onChange={(v) => onProgramChange({ ...program, setback: v })} />
        <NumberInput label={`Spacing (${unit})`} field="min_spacing" problems={problems} min={0} value={program.minSpacing} onChange={(v) => onProgramChange({ ...program, minSpacing: v })} />
        <NumberInput label="Coverage limit (%)" field="max_coverage" problems={problems} min={1} value={program.coveragePercent} onChange={(v) => onProgramChange({ ...program, coveragePercent: v })} />
      </div>
      <fieldset className="inline"><legend>Setbacks per side ({unit}, empty: the uniform one)</legend>
        {SIDES.map((side) => (
          <label key={side}>{side}
            <input type="number" min={0} step="any" value={program.sideSetbacks[side] ?? ''} onChange={(e) => {
              const sideSetbacks = { ...program.sideSetbacks };
              if (e.target.value === '') delete sideSetbacks[side]; else sideSetbacks[side] = Number(e.target.value);
              onProgramChange({ ...program, sideSetbacks });
            }} />
          </label>
        ))}
        <FieldProblem problems={problems} field="side_setbacks" />
      </fieldset>
      <div className="table-scroll">
      <table className="assets">
        <caption>Assets to place</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Footprint</th><th scope="col">Width ({unit})</th><th scope="col">Length ({unit})</th><th scope="col">Quantity</th><th scope="col">Priority</th><th scope="col"><span className="visually-hidden">Remove</span></th></tr></thead>
        <tbody>
          {program.assets.map((asset, index) => (
            <tr key={index}>
              <td><input aria-label={`Name of asset line ${index + 1}`} value={asset.name} onChange={(e) => setAsset(index, { name: e.target.value })} /><FieldProblem problems={problems} field={`assets.${index}.name`} /><FieldProblem problems={problems} field={`assets.${index}`} /></td>
              <td><select aria-label={`Type of asset line ${index + 1}`} value={asset.type} onChange={(e) => setAsset(index, { type: e.target.value as AssetType })}>
                {ASSET_TYPES.map((type) => <option key={type} value={type}>{type.replace('_', ' ')}</option>)}
              </select></td>
              <td><select aria-label={`Footprint of asset line ${index + 1}`} value={asset.footprint} onChange={(e) => setAsset(index, { footprint: e.target.value === 'circle' ? 'circle' : e.target.value === 'polygon' ? 'polygon' : 'rectangle' })}>
                <option value="rectangle">rectangle</option><option value="circle">circle</option><option value="polygon">polygon</option>
              </select>
              {asset.footprint === 'polygon' && (
                <input aria-label={`Vertices of asset line ${index + 1} (x,y; x,y; … in ${unit})`} placeholder="0,0; 40,0; 40,20; 0,30" value={asset.vertices}
                  aria-invalid={problems[`assets.${index}.footprint`] ? true : undefined} onChange={(e) => setAsset(index, { vertices: e.target.value })} />
              )}
              <FieldProblem problems={problems} field={`assets.${index}.footprint`} /></td>
              <td><input type="number" min={0} step="any" aria-label={`Width of asset line ${index + 1}`} disabled={asset.footprint === 'polygon'} value={asset.width} onChange={(e) => setAsset(index, { width: Number(e.target.value) })} /><FieldProblem problems={problems} field={`assets.${index}.width`} /></td>
              <td><input type="number" min={0} step="any" aria-label={`Length of asset line ${index + 1}`} disabled={asset.footprint !== 'rectangle'} value={asset.footprint === 'circle' ? asset.width : asset.length} onChange={(e) => setAsset(index, { length: Number(e.target.value) })} /><FieldProblem problems={problems} field={`assets.${index}.length`} /></td>
              <td><input type="number" min={1} step={1} aria-label={`Quantity of asset line ${index + 1}`} value={asset.quantity} onChange={(e) => setAsset(index, { quantity: Number(e.target.value) })} /><FieldProblem problems={problems} field={`assets.${index}.quantity`} /></td>
              <td><input type="number" step={1} aria-label={`Priority of asset line ${index + 1}`} value={asset.priority} onChange={(e) => setAsset(index, { priority: Number(e.target.value) })} /></td>
              <td><button type="button" aria-label={`Remove asset line ${index + 1}`} onClick={() => onProgramChange({ ...program, assets: program.assets.filter((_, i) => i !== index) })}>✕</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <FieldProblem problems={problems} field="assets" />
      <button type="button" onClick={() => onProgramChange({ ...program, assets: [...program.assets, newAssetLine()] })}>Add an asset line</button>

      <fieldset><legend>Spacing between pairs of types ({unit}, replaces the spacing above for them)</legend>
        {program.pairSpacings.map((pair, index) => {
          const update = (change: Partial<PairSpacing>) => onProgramChange({ ...program, pairSpacings: program.pairSpacings.map((p, i) => (i === index ? { ...p, ...change } : p)) });
          return (
            <div className="inline" key={index}>
              {[0, 1].map((side) => (
                <label key={side}>{side === 0 ? 'Between' : 'and'}
                  <select value={pair.between[side]} onChange={(e) => {
                    const between: [AssetType, AssetType] = [...pair.between];
                    between[side] = e.target.value as AssetType;
                    update({ between });
                  }}>
                    {ASSET_TYPES.map((type) => <option key={type} value={type}>{type.replace('_', ' ')}</option>)}
                  </select>
                </label>
              ))}
              <label>Spacing<input type="number" min={0} step="any" value={pair.spacing} onChange={(e) => update({ spacing: Number(e.target.value) })} /></label>
              <button type="button" aria-label={`Remove pair spacing ${index + 1}`} onClick={() => onProgramChange({ ...program, pairSpacings: program.pairSpacings.filter((_, i) => i !== index) })}>✕</button>
            </div>
          );
        })}
        <button type="button" onClick={() => onProgramChange({ ...program, pairSpacings: [...program.pairSpacings, { between: ['building', 'building'], spacing: program.minSpacing }] })}>Add a pair spacing</button>
        <FieldProblem problems={problems} field="spacing_overrides" />
      </fieldset>
      <fieldset className="inline"><legend>Objective weights (empty: the program's or the default)</legend>
        {OBJECTIVES.map(([name, label, fallback]) => (
          <label key={name}>{label}
            <input type="number" min={0} step="any" placeholder={String(fallback)} value={run.objectiveWeights[name] ?? ''} onChange={(e) => {
              const objectiveWeights = { ...run.objectiveWeights };
              if (e.target.value === '') delete objectiveWeights[name]; else objectiveWeights[name] = Number(e.target.value);
              setRun({ ...run, objectiveWeights });
            }} />
          </label>
        ))}
        <FieldProblem problems={problems} field="objectiveWeights" />
      </fieldset>

      <h3>Strategy</h3>
      <ErrorBanner message={strategies.error} />
      <label>Strategy
        <select value={run.strategy} onChange={(e) => setRun({ ...run, strategy: e.target.value })}>
          <option value="">The best built-in one</option>
          {strategies.data?.strategies.map((s) => <option key={`${s.name}@${s.version}`} value={`${s.name}@${s.version}`}>{s.name} {s.version}</option>)}
        </select>
        <FieldProblem problems={problems} field="strategy" />
      </label>
      {strategy && <p className="hint">{strategy.description}</p>}
      {fields.map((field) => {
        const value = run.parameters[field.name];
        const setValue = (v: unknown) => setRun((current) => ({ ...current, parameters: { ...current.parameters, [field.name]: v } }));
        return (
          <label key={field.name} title={field.description}>{field.name}{field.description ? ` — ${field.description}` : ''}
            {field.kind === 'boolean' ? <input type="checkbox" checked={value === true} onChange={(e) => setValue(e.target.checked)} />
              : field.kind === 'enum' ? (
                <select value={typeof value === 'string' ? value : ''} onChange={(e) => setValue(e.target.value)}>
                  {field.options.map((option) => <option key={option} value={option}>{option}</option>)}
                </select>
              ) : field.kind === 'string' ? <input value={typeof value === 'string' ? value : ''} onChange={(e) => setValue(e.target.value)} />
                : <input type="number" step={field.kind === 'integer' ? 1 : 'any'} min={field.minimum ?? undefined} max={field.maximum ?? undefined}
                  value={typeof value === 'number' ? value : ''} onChange={(e) => setValue(e.target.value === '' ? undefined : Number(e.target.value))} />}
          </label>
        );
      })}
      <FieldProblem problems={problems} field="parameters" />
      <div className="inline">
        <NumberInput label="Seed" field="seed" problems={problems} value={run.seed ?? Number.NaN} onChange={(v) => setRun({ ...run, seed: Number.isFinite(v) ? v : null })} step="1" />
        <NumberInput label="Time limit (s)" field="timeLimitSeconds" problems={problems} min={1} value={run.timeLimitSeconds ?? Number.NaN} onChange={(v) => setRun({ ...run, timeLimitSeconds: Number.isFinite(v) ? v : null })} step="1" />
        <NumberInput label="Alternatives" field="alternatives" problems={problems} min={1} value={run.alternatives} onChange={(v) => setRun({ ...run, alternatives: v })} step="1" />
      </div>
      <button type="submit" className="primary" disabled={busy}>{busy ? 'Starting…' : 'Run the optimizer'}</button>
    </form>
  );
}
