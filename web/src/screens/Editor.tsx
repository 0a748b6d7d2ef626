// The layout editor: select, drag or nudge, rotate and remove assets, and place those
// the layout left out; every change is checked live with checkLayoutEdits and
// violations are drawn and listed; undo and redo; save as a new layout
// (saveLayoutEdits); re-optimize around the kept assets.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ErrorBanner, useApi } from '../api';
import { execute } from '../client';
import { describeError } from '../errors';
import { CheckLayoutEditsQuery, CreateJobMutation, SaveLayoutEditsMutation } from '../operations';
import type { CheckLayoutEditsQuery as CheckData, JobQuery as JobData } from '../gql/graphql';
import { Legend, MapView } from '../MapView';
import { asFeatureCollection, metresPerDegree, ringCentre } from '../geometry';
import { EMPTY_HISTORY, editsInput, pushEdit, redo, removedAssets, undo } from '../history';
import type { EditHistory, LayoutEdit } from '../history';
import { navigate } from '../router';
import { formatNumber } from '../format';
import { BasemapSetting, useBasemap } from './basemap';
import { ExportPanel } from './Export';

type LayoutData = JobData['job']['layouts'][number];

export function Editor({ job, layout, onClose }: { job: JobData['job']; layout: LayoutData; onClose: () => void }) {
  const { client, config } = useApi();
  const [basemap, setBasemap] = useBasemap();
  const [history, setHistory] = useState<EditHistory>(EMPTY_HISTORY);
  const [check, setCheck] = useState<CheckData['checkLayoutEdits'] | null>(null);
  // The edit list the check (or its failure) answers: while it is not the current one,
  // the check is still running, so a stale answer is never shown as the current one.
  const [checkedHistory, setCheckedHistory] = useState<EditHistory | null>(null);
  const checking = checkedHistory !== history;
  const [selected, setSelected] = useState<string | null>(null);
  const [step, setStep] = useState(5);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<{ id: string; placedCount: number } | null>(null);
  // The asset of the program, left out of the layout, that the next map click places.
  const [placing, setPlacing] = useState<string | null>(null);

  // Checked with no edit too: the answer lists what the layout left out (to ADD).
  useEffect(() => {
    let current = true;
    execute(client, CheckLayoutEditsQuery, { layoutId: layout.id, edits: editsInput(history) }, 'query').then(
      (data) => { if (current) { setCheck(data.checkLayoutEdits); setProblem(null); setCheckedHistory(history); } },
      (error: unknown) => { if (current) { setCheck(null); setProblem(describeError(error)); setCheckedHistory(history); } },
    );
    return () => { current = false; };
  }, [client, layout.id, history]);

  const shown = useMemo(() => asFeatureCollection(check?.geojson ?? layout.geojson), [check, layout.geojson]);
  const violating = useMemo(() => [...new Set(check?.violations.flatMap((v) => v.assetIds) ?? [])], [check]);
  const mapData = useMemo(() => ({ layout: shown, violatingAssetIds: violating, selectedAssetId: selected }), [shown, violating, selected]);
  const assetFeature = useCallback((id: string) => shown?.features.find((f) => f.properties?.kind === 'asset' && f.properties.asset_id === id), [shown]);
  const add = useCallback((edit: LayoutEdit) => { setSaved(null); setHistory((h) => pushEdit(h, edit)); }, []);
  const placeAt = useCallback((position: [number, number]) => {
    if (placing === null) return;
    add({ kind: 'ADD', assetId: placing, position, rotationDeg: 0 });
    setSelected(placing);
    setPlacing(null);
  }, [add, placing]);
  useEffect(() => {
    if (placing === null) return;
    const onKey = (event: KeyboardEvent) => { if (event.key === 'Escape') setPlacing(null); };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [placing]);
  const unplaced = check?.unplacedAssets ?? [];

  const moveBy = useCallback((id: string, dx: number, dy: number) => {
    const feature = assetFeature(id);
    const centre = feature ? ringCentre(feature.geometry.coordinates) : null;
    if (!centre) return;
    add({ kind: 'MOVE', assetId: id, position: [centre[0] + dx, centre[1] + dy] });
  }, [add, assetFeature]);

  const nudge = (east: number, north: number) => {
    if (!selected) return;
    const feature = assetFeature(selected);
    const centre = feature ? ringCentre(feature.geometry.coordinates) : null;
    if (!centre) return;
    const perDegree = metresPerDegree(centre[1]);
    moveBy(selected, (east * step) / perDegree.x, (north * step) / perDegree.y);
  };

  const rotate = (degrees: number) => {
    if (!selected) return;
    const rotation = assetFeature(selected)?.properties?.rotation;
    add({ kind: 'ROTATE', assetId: selected, rotationDeg: ((typeof rotation === 'number' ? rotation : 0) + degrees + 360) % 360 });
  };

  useEffect(() => {
    const keys = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.target instanceof HTMLInputElement) return;
      if (event.key === 'z' && !event.shiftKey) { event.preventDefault(); setHistory(undo); }
      if (event.key === 'y' || (event.key === 'z' && event.shiftKey)) { event.preventDefault(); setHistory(redo); }
    };
    window.addEventListener('keydown', keys);
    return () => window.removeEventListener('keydown', keys);
  }, []);

  async function save() {
    setProblem(null);
    try {
      const data = await execute(client, SaveLayoutEditsMutation, { layoutId: layout.id, edits: editsInput(history) }, 'mutation');
      setSaved(data.saveLayoutEdits);
    } catch (error) {
      setProblem(describeError(error));
    }
  }

  async function reoptimize() {
    setProblem(null);
    const seed = saved?.id ?? layout.id;
    const removed = removedAssets(history);
    const kept = (shown?.features ?? []).filter((f) => f.properties?.kind === 'asset')
      .map((f) => String(f.properties?.asset_id)).filter((id) => !removed.has(id));
    try {
      const data = await execute(client, CreateJobMutation, {
        input: { siteId: job.site.id, seedLayoutId: seed, keepAssets: kept, alternatives: job.alternatives, seed: job.seed, timeLimitSeconds: job.timeLimitSeconds },
      }, 'mutation');
      navigate({ screen: 'job', jobId: data.createJob.id });
    } catch (error) {
      setProblem(describeError(error));
    }
  }

  const assetTypes = [...new Set((shown?.features ?? []).filter((f) => f.properties?.kind === 'asset').map((f) => String(f.properties?.asset_type)))];
  const roadClasses = [...new Set((shown?.features ?? []).filter((f) => f.properties?.kind === 'road').map((f) => String(f.properties?.class)))];
  const dirty = history.done.length > 0;
  const valid = !dirty || check?.valid === true;

  return (
    <section aria-labelledby="editor-title">
      <h2 id="editor-title">Editing alternative {layout.rank + 1}</h2>
      <p className="hint">Drag an asset on the map, or select it and use the buttons. Ctrl+Z undoes, Ctrl+Y redoes.</p>
      <ErrorBanner message={problem} />
      <div className="split">
        <div>
          <BasemapSetting basemaps={config.basemaps} value={basemap} onChange={setBasemap} />
          <MapView name="editor" label="Layout being edited" basemap={basemap} data={mapData}
            onAssetClick={setSelected} onAssetDragged={moveBy} onMapClick={placing === null ? null : placeAt} labels />
        </div>
        <div>
          <Legend assetTypes={assetTypes} roadClasses={roadClasses} />
          <div className="panel">
            <h3>Selected asset</h3>
            <label>Asset
              <select value={selected ?? ''} onChange={(e) => setSelected(e.target.value === '' ? null : e.target.value)}>
                <option value="">None</option>
                {(shown?.features ?? []).filter((f) => f.properties?.kind === 'asset').map((f) => {
                  const id = String(f.properties?.asset_id);
                  return <option key={id} value={id}>{id} ({String(f.properties?.name)})</option>;
                })}
              </select>
            </label>
            <label>Step (m)<input type="number" min={0.1} step="any" value={step} onChange={(e) => setStep(Number(e.target.value))} /></label>
            <div className="buttons" role="group" aria-label="Move and rotate the selected asset">
              <button type="button" disabled={!selected} onClick={() => nudge(0, 1)}>Move north</button>
              <button type="button" disabled={!selected} onClick={() => nudge(0, -1)}>Move south</button>
              <button type="button" disabled={!selected} onClick={() => nudge(1, 0)}>Move east</button>
              <button type="button" disabled={!selected} onClick={() => nudge(-1, 0)}>Move west</button>
              <button type="button" disabled={!selected} onClick={() => rotate(15)}>Rotate 15° clockwise</button>
              <button type="button" disabled={!selected} onClick={() => rotate(-15)}>Rotate 15° counter-clockwise</button>
              <button type="button" className="danger" disabled={!selected} onClick={() => { if (selected) add({ kind: 'REMOVE', assetId: selected }); setSelected(null); }}>Remove</button>
            </div>
          </div>
          <div className="panel">
            <h3>Assets left out</h3>
            {unplaced.length === 0 ? <p data-testid="unplaced-assets" data-count={0}>The layout places every asset of the program.</p> : (
              <>
                <ul data-testid="unplaced-assets" data-count={unplaced.length}>
                  {unplaced.map((asset) => (
                    <li key={asset.assetId}>
                      {asset.name} ({asset.assetId}, {formatNumber(asset.widthM)} × {formatNumber(asset.lengthM)} m){' '}
                      <button type="button" aria-pressed={placing === asset.assetId} aria-label={`Place ${asset.assetId} on the map`}
                        onClick={() => setPlacing(placing === asset.assetId ? null : asset.assetId)}>
                        {placing === asset.assetId ? 'Cancel placing' : 'Place on the map'}
                      </button>
                    </li>
                  ))}
                </ul>
                {placing && <p className="hint" role="status">Click the map where the centre of {placing} goes (Escape cancels).</p>}
              </>
            )}
          </div>
          <div className="panel" aria-live="polite">
            <h3>Check</h3>
            <div className="buttons">
              <button type="button" disabled={history.done.length === 0} onClick={() => setHistory(undo)}>Undo</button>
              <button type="button" disabled={history.undone.length === 0} onClick={() => setHistory(redo)}>Redo</button>
            </div>
            <p data-testid="edit-check" data-valid={valid} data-edits={history.done.length} data-checking={checking}>
              {!dirty ? 'No edit yet.' : checking ? 'Checking…'
                : check?.valid ? `Valid: ${check.placedCount} of ${check.requestedCount} placed (${history.done.length} edit${history.done.length === 1 ? '' : 's'}).`
                  : `${check?.violations.length ?? 0} violation${check?.violations.length === 1 ? '' : 's'}:`}
            </p>
            {check && !check.valid && (
              <ul className="violations" data-testid="violations">
                {check.violations.map((v, index) => <li key={index}><strong>{v.rule.replace(/_/g, ' ')}</strong>: {v.message}</li>)}
              </ul>
            )}
            <div className="buttons">
              <button type="button" className="primary" disabled={!dirty || !valid || checking} onClick={() => void save()}>Save as a new layout</button>
              <button type="button" onClick={() => void reoptimize()} disabled={dirty && !saved}>Re-optimize around the kept assets</button>
              <button type="button" onClick={onClose}>Back to the results</button>
            </div>
            {saved && <p role="status" data-testid="saved-layout">Saved: a new layout with {formatNumber(saved.placedCount, 0)} assets.</p>}
          </div>
          {saved && <ExportPanel layoutId={saved.id} />}
        </div>
      </div>
    </section>
  );
}
