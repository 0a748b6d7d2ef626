// A site's exclusion zones and entrances, edited on the map (an outline clicked corner
// by corner; an entrance clicked near the parcel's edge and moved onto it) and saved
// with updateSite; and its terrain: a GeoTIFF DEM uploaded and linked, shown as slope
// classes.
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { ErrorBanner, useApi } from '../api';
import { execute } from '../client';
import { describeError } from '../errors';
import { SetSiteTerrainMutation, UpdateSiteMutation, UploadTerrainMutation } from '../operations';
import type { SlopeClassesQuery } from '../gql/graphql';
import { nearestPointOnRings, outerRings, parseLatLonList, polygonOfPoints } from '../geometry';
import type { Position } from '../geometry';
import { formatArea, formatNumber } from '../format';
import { slopeColour } from '../MapView';
import { EXCLUSION_KINDS } from './Project';

export interface ExclusionDraft {
  kind: string;
  bufferM: number;
  name: string;
  geometry: unknown;
}

/** The site's zones and entrances while they are being edited. */
export interface SiteDraft {
  exclusions: ExclusionDraft[];
  entrances: Position[];
}

export type SiteTool = 'none' | 'exclusion' | 'entrance';

/** Entrances clicked further than this from the parcel's edge are refused, not moved. */
const ENTRANCE_SNAP_METRES = 50;

/** What a click on the map does while the site is being edited. */
export function siteMapClick(
  tool: SiteTool,
  boundary: unknown,
  position: Position,
  draft: SiteDraft,
  outline: Position[],
): { draft?: SiteDraft; outline?: Position[]; problem?: string } {
  if (tool === 'exclusion') return { outline: [...outline, position] };
  if (tool === 'entrance') {
    const nearest = nearestPointOnRings(position, outerRings(boundary));
    if (nearest === null || nearest.distanceMetres > ENTRANCE_SNAP_METRES) {
      return { problem: `An entrance goes on the parcel's edge: click within ${ENTRANCE_SNAP_METRES} m of it.` };
    }
    return { draft: { ...draft, entrances: [...draft.entrances, nearest.position] } };
  }
  return {};
}

export function SiteFeaturesPanel({ siteId, draft, onDraftChange, tool, onToolChange, outline, onOutlineChange, onSaved, onStart, mapProblem, onAddEntrance }: {
  siteId: string;
  draft: SiteDraft | null;
  onDraftChange: (draft: SiteDraft | null) => void;
  tool: SiteTool;
  onToolChange: (tool: SiteTool) => void;
  outline: Position[];
  onOutlineChange: (outline: Position[]) => void;
  onSaved: () => void;
  onStart: () => void;
  mapProblem: string | null;
  /** Adds an entrance at a typed position, moved onto the parcel's edge like a click. */
  onAddEntrance: (position: Position) => void;
}): ReactNode {
  const { client, viewer } = useApi();
  const [problem, setProblem] = useState<string | null>(null);
  // The keyboard's way to the same tools: coordinates typed instead of clicked.
  const [typedCorners, setTypedCorners] = useState('');
  const [typedEntrance, setTypedEntrance] = useState('');
  const [typedProblem, setTypedProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [newZone, setNewZone] = useState<{ kind: string; bufferM: number; name: string }>({ kind: 'custom', bufferM: 0, name: '' });

  useEffect(() => {
    if (tool === 'none') return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') { onOutlineChange([]); onToolChange('none'); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [tool, onOutlineChange, onToolChange]);

  if (viewer.viewer.role === 'VIEWER') return null;
  if (draft === null) {
    return (
      <div className="panel">
        <h2 id="site-features-title">Exclusions and entrances</h2>
        <button type="button" onClick={onStart}>Edit exclusions and entrances</button>
      </div>
    );
  }

  const update = (index: number, change: Partial<ExclusionDraft>) =>
    onDraftChange({ ...draft, exclusions: draft.exclusions.map((zone, i) => (i === index ? { ...zone, ...change } : zone)) });

  function finishOutline() {
    const polygon = polygonOfPoints(outline);
    if (polygon === null || draft === null) return;
    onDraftChange({ ...draft, exclusions: [...draft.exclusions, { ...newZone, geometry: polygon }] });
    onOutlineChange([]);
    onToolChange('none');
    setNewZone({ kind: 'custom', bufferM: 0, name: '' });
  }

  async function save() {
    if (draft === null) return;
    setBusy(true);
    setProblem(null);
    try {
      await execute(client, UpdateSiteMutation, {
        input: {
          siteId,
          exclusions: draft.exclusions.map((zone) => ({ kind: zone.kind, bufferM: zone.bufferM, geometry: zone.geometry, name: zone.name.trim() === '' ? null : zone.name.trim() })),
          entrances: draft.entrances,
        },
      }, 'mutation');
      onToolChange('none');
      onOutlineChange([]);
      onDraftChange(null);
      onSaved();
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="panel" aria-labelledby="site-features-title">
      <h2 id="site-features-title">Exclusions and entrances</h2>
      <ErrorBanner message={problem ?? mapProblem} />
      <table>
        <caption className="visually-hidden">Exclusion zones of the site</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Buffer (m)</th><th scope="col"><span className="visually-hidden">Remove</span></th></tr></thead>
        <tbody data-testid="exclusion-rows">
          {draft.exclusions.map((zone, index) => (
            <tr key={index}>
              <td><input aria-label={`Name of exclusion ${index + 1}`} value={zone.name} onChange={(e) => update(index, { name: e.target.value })} /></td>
              <td><select aria-label={`Kind of exclusion ${index + 1}`} value={zone.kind} onChange={(e) => update(index, { kind: e.target.value })}>
                {EXCLUSION_KINDS.map((kind) => <option key={kind} value={kind}>{kind.replace('_', ' ')}</option>)}
              </select></td>
              <td><input type="number" min={0} step="any" aria-label={`Buffer of exclusion ${index + 1} in metres`} value={zone.bufferM} onChange={(e) => update(index, { bufferM: Number(e.target.value) })} /></td>
              <td><button type="button" aria-label={`Remove exclusion ${index + 1}`} onClick={() => onDraftChange({ ...draft, exclusions: draft.exclusions.filter((_, i) => i !== index) })}>✕</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      {tool === 'exclusion' ? (
        <fieldset>
          <legend>New exclusion: click its corners on the map</legend>
          <p data-testid="outline-readout" data-points={outline.length} aria-live="polite">
            {outline.length < 3 ? `${outline.length} corner${outline.length === 1 ? '' : 's'}: at least 3 are needed.` : `${outline.length} corners.`}
          </p>
          <div className="inline">
            <label>Name<input value={newZone.name} onChange={(e) => setNewZone({ ...newZone, name: e.target.value })} /></label>
            <label>Kind
              <select value={newZone.kind} onChange={(e) => setNewZone({ ...newZone, kind: e.target.value })}>
                {EXCLUSION_KINDS.map((kind) => <option key={kind} value={kind}>{kind.replace('_', ' ')}</option>)}
              </select>
            </label>
            <label>Buffer (m)<input type="number" min={0} step="any" value={newZone.bufferM} onChange={(e) => setNewZone({ ...newZone, bufferM: Number(e.target.value) })} /></label>
          </div>
          <div className="inline">
            <label>Or type the corners (latitude, longitude; …)
              <input value={typedCorners} onChange={(e) => setTypedCorners(e.target.value)} placeholder="39.3525, -103.4015; 39.3525, -103.4005; 39.353, -103.401" />
            </label>
            <button type="button" onClick={() => {
              const parsed = parseLatLonList(typedCorners);
              if ('problem' in parsed) { setTypedProblem(parsed.problem); return; }
              setTypedProblem(null);
              onOutlineChange(parsed.positions);
            }}>Use these corners</button>
          </div>
          {typedProblem && <p className="field-error" role="alert">{typedProblem}</p>}
          <div className="buttons">
            <button type="button" className="primary" disabled={outline.length < 3} onClick={finishOutline}>Finish the outline</button>
            <button type="button" disabled={outline.length === 0} onClick={() => onOutlineChange(outline.slice(0, -1))}>Remove last corner</button>
            <button type="button" onClick={() => { onOutlineChange([]); onToolChange('none'); }}>Cancel</button>
          </div>
        </fieldset>
      ) : (
        <button type="button" onClick={() => onToolChange('exclusion')}>Draw an exclusion</button>
      )}
      <h3>Entrances</h3>
      {draft.entrances.length === 0 ? <p>None: each job chooses one per part of the parcel.</p> : (
        <ul data-testid="entrance-rows">
          {draft.entrances.map(([lon, lat], index) => (
            <li key={index}>
              Entrance {index + 1}: {formatNumber(lat, 6)}, {formatNumber(lon, 6)}{' '}
              <button type="button" aria-label={`Remove entrance ${index + 1}`} onClick={() => onDraftChange({ ...draft, entrances: draft.entrances.filter((_, i) => i !== index) })}>✕</button>
            </li>
          ))}
        </ul>
      )}
      <button type="button" aria-pressed={tool === 'entrance'} onClick={() => onToolChange(tool === 'entrance' ? 'none' : 'entrance')}>
        {tool === 'entrance' ? 'Stop adding entrances' : 'Add an entrance'}
      </button>
      {tool === 'entrance' && <p className="hint">Click on or near the parcel's edge: the entrance goes to the nearest point of the edge.</p>}
      <div className="inline">
        <label>Or type an entrance (latitude, longitude)
          <input value={typedEntrance} onChange={(e) => setTypedEntrance(e.target.value)} placeholder="39.352, -103.402" />
        </label>
        <button type="button" onClick={() => {
          const parsed = parseLatLonList(typedEntrance);
          if ('problem' in parsed || parsed.positions.length !== 1) {
            setTypedProblem('problem' in parsed ? parsed.problem : 'Type one "latitude, longitude".');
            return;
          }
          setTypedProblem(null);
          const [position] = parsed.positions;
          if (position) onAddEntrance(position);
          setTypedEntrance('');
        }}>Add this entrance</button>
      </div>
      {tool !== 'exclusion' && typedProblem && <p className="field-error" role="alert">{typedProblem}</p>}
      <div className="buttons">
        <button type="button" className="primary" disabled={busy || tool === 'exclusion'} onClick={() => void save()}>{busy ? 'Saving…' : 'Save the site'}</button>
        <button type="button" onClick={() => { onToolChange('none'); onOutlineChange([]); onDraftChange(null); }}>Discard changes</button>
      </div>
    </div>
  );
}

type SlopeClasses = NonNullable<SlopeClassesQuery['site']['slopeClasses']>;

export function slopeClassLabel(slopeClass: SlopeClasses[number]): string {
  return slopeClass.atMostPercent === null || slopeClass.atMostPercent === undefined
    ? `over ${formatNumber(slopeClass.abovePercent)} %`
    : `${formatNumber(slopeClass.abovePercent)}–${formatNumber(slopeClass.atMostPercent)} %`;
}

export function TerrainPanel({ siteId, projectId, terrainFile, slopeClasses, slopeError, showSlope, onShowSlope, onChanged }: {
  siteId: string;
  projectId: string;
  terrainFile: { id: string; filename: string } | null;
  slopeClasses: SlopeClasses | null;
  slopeError: string | null;
  showSlope: boolean;
  onShowSlope: (show: boolean) => void;
  onChanged: () => void;
}): ReactNode {
  const { client, viewer } = useApi();
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  async function link(file: File | null) {
    setProblem(null);
    try {
      let fileId: string | null = null;
      if (file !== null) {
        setBusy(`Uploading ${file.name}…`);
        const uploaded = await execute(client, UploadTerrainMutation, { projectId, file }, 'mutation');
        fileId = uploaded.uploadTerrain.file.id;
      }
      setBusy(file === null ? 'Unlinking the terrain…' : 'Linking the terrain…');
      await execute(client, SetSiteTerrainMutation, { siteId, fileId }, 'mutation');
      onChanged();
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(null);
    }
  }

  const total = slopeClasses?.reduce((sum, c) => sum + c.areaM2, 0) ?? 0;
  return (
    <div className="panel" aria-labelledby="terrain-title">
      <h2 id="terrain-title">Terrain</h2>
      <p data-testid="terrain-file">{terrainFile ? <>Elevation model: {terrainFile.filename}</> : 'No elevation model: jobs assume flat ground and report earthwork as unknown.'}</p>
      {viewer.viewer.role !== 'VIEWER' && (
        <div className="buttons">
          <label className="button">{terrainFile ? 'Replace the GeoTIFF DEM' : 'Upload a GeoTIFF DEM'}
            <input type="file" className="visually-hidden" accept=".tif,.tiff,image/tiff"
              onChange={(event) => { const file = event.target.files?.[0]; event.target.value = ''; if (file) void link(file); }} />
          </label>
          {terrainFile && <button type="button" onClick={() => void link(null)}>Unlink</button>}
        </div>
      )}
      {busy && <p role="status">{busy}</p>}
      <ErrorBanner message={problem ?? slopeError} />
      {slopeClasses && (
        <>
          <label className="check"><input type="checkbox" checked={showSlope} onChange={(e) => onShowSlope(e.target.checked)} /> Show slope classes on the map</label>
          <ul className="legend" aria-label="Slope classes" data-testid="slope-classes">
            {slopeClasses.map((slopeClass, index) => (
              <li key={index}>
                <span className="swatch" style={{ background: slopeColour(index, slopeClasses.length) }} />
                {slopeClassLabel(slopeClass)}: {formatArea(slopeClass.areaM2)}{total > 0 ? ` (${formatNumber((slopeClass.areaM2 / total) * 100, 1)} %)` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
