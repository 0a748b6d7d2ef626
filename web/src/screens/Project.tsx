// A project: its sites, and a new site from an uploaded parcel file (drag and drop):
// the boundary and candidate polygons on the map, candidates chosen as exclusions.
import { useState } from 'react';
import type { DragEvent, FormEvent } from 'react';
import { ErrorBanner, useApi, useLoad } from '../api';
import { execute } from '../client';
import { describeError, isCombinedError, problemsOf } from '../errors';
import { CreateSiteMutation, ProjectQuery, UploadParcelMutation } from '../operations';
import type { UploadParcelMutation as UploadedData } from '../gql/graphql';
import { navigate } from '../router';
import { MapView } from '../MapView';
import { geometryCollection } from '../geometry';
import type { FeatureCollection } from '../geometry';
import { formatNumber } from '../format';
import { useBasemap, BasemapSetting } from './basemap';

export const EXCLUSION_KINDS = ['wetland', 'easement', 'floodplain', 'utility', 'steep_slope', 'existing_structure', 'custom'];

interface CandidateChoice { chosen: boolean; kind: string; bufferM: number }

export function ProjectScreen({ projectId }: { projectId: string }) {
  const project = useLoad(ProjectQuery, { id: projectId });
  return (
    <section aria-labelledby="project-title">
      <ErrorBanner message={project.error} />
      {project.data && (
        <>
          <p className="crumbs"><a href="/" onClick={(e) => { e.preventDefault(); navigate({ screen: 'projects' }); }}>Projects</a> › {project.data.project.name}</p>
          <h1 id="project-title">{project.data.project.name}</h1>
          {project.data.project.description && <p>{project.data.project.description}</p>}
          <h2>Sites</h2>
          {project.data.project.sites.edges.length === 0 ? <p>No site yet: upload a parcel file below.</p> : (
            <ul className="cards">
              {project.data.project.sites.edges.map(({ node: site }) => (
                <li key={site.id} className="card">
                  <h3><a href={`/sites/${site.id}`} onClick={(e) => { e.preventDefault(); navigate({ screen: 'site', siteId: site.id }); }}>{site.name}</a></h3>
                  <p className="hint">{formatNumber(site.areaM2 / 10_000, 2)} ha{site.latestLayout ? ` · latest layout: ${site.latestLayout.placedCount} of ${site.latestLayout.requestedCount} placed` : ''}</p>
                </li>
              ))}
            </ul>
          )}
          <NewSite projectId={projectId} />
        </>
      )}
    </section>
  );
}

function NewSite({ projectId }: { projectId: string }) {
  const { client, config } = useApi();
  const [basemap, setBasemap] = useBasemap();
  const [uploaded, setUploaded] = useState<UploadedData['uploadParcel'] | null>(null);
  const [choices, setChoices] = useState<CandidateChoice[]>([]);
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [dragOver, setDragOver] = useState(false);
  // A file that declares no coordinate system (DXF, a Shapefile without .prj) is kept
  // here while the planner says which one it uses.
  const [needsCrs, setNeedsCrs] = useState<{ file: File; message: string } | null>(null);
  const [crs, setCrs] = useState('');

  async function upload(file: File, declaredCrs: string | null = null) {
    setProblem(null);
    setBusy(`Uploading ${file.name}…`);
    try {
      const data = await execute(client, UploadParcelMutation, { projectId, file, crs: declaredCrs }, 'mutation');
      setNeedsCrs(null);
      setUploaded(data.uploadParcel);
      setChoices(data.uploadParcel.exclusionCandidates.map((candidate) => ({
        chosen: candidate.suggestedKind !== null && candidate.suggestedKind !== undefined,
        kind: candidate.suggestedKind ?? 'custom',
        bufferM: 0,
      })));
      setName(file.name.replace(/\.[^.]+$/, ''));
    } catch (error) {
      const crsProblem = isCombinedError(error) ? problemsOf(error).find((p) => p.field === 'crs') : undefined;
      if (crsProblem) {
        setUploaded(null);
        setNeedsCrs({ file, message: crsProblem.message });
      } else {
        setProblem(describeError(error));
      }
    } finally {
      setBusy(null);
    }
  }

  function dropped(event: DragEvent) {
    event.preventDefault();
    setDragOver(false);
    const file = event.dataTransfer.files[0];
    if (file) void upload(file);
  }

  async function createSite(event: FormEvent) {
    event.preventDefault();
    if (!uploaded) return;
    setBusy('Creating the site…');
    setProblem(null);
    try {
      const exclusions = uploaded.exclusionCandidates.flatMap((candidate, index) => {
        const choice = choices[index];
        return choice?.chosen ? [{ kind: choice.kind, bufferM: choice.bufferM, geometry: candidate.polygon, name: candidate.name ?? null }] : [];
      });
      const data = await execute(client, CreateSiteMutation, {
        input: { projectId, name, boundary: uploaded.boundary, exclusions, entrances: [] },
      }, 'mutation');
      navigate({ screen: 'site', siteId: data.createSite.id });
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(null);
    }
  }

  const candidates: FeatureCollection = {
    type: 'FeatureCollection',
    features: (uploaded?.exclusionCandidates ?? []).flatMap((candidate, index) =>
      geometryCollection(candidate.polygon).features.map((feature) => ({
        ...feature, properties: { index, chosen: choices[index]?.chosen ?? false },
      }))),
  };

  return (
    <section aria-labelledby="new-site-title" className="panel">
      <h2 id="new-site-title">New site from a file</h2>
      <div
        className={`drop-zone${dragOver ? ' over' : ''}`}
        onDragOver={(event) => { event.preventDefault(); setDragOver(true); }}
        onDragLeave={() => setDragOver(false)}
        onDrop={dropped}
      >
        <p>Drop a KML, KMZ, GeoJSON, zipped Shapefile, GeoPackage or DXF file here, or</p>
        <label className="button">Choose a file
          <input type="file" className="visually-hidden" accept=".kml,.kmz,.geojson,.json,.zip,.gpkg,.dxf"
            onChange={(event) => { const file = event.target.files?.[0]; if (file) void upload(file); }} />
        </label>
      </div>
      {busy && <p role="status">{busy}</p>}
      <ErrorBanner message={problem} />
      {needsCrs && (
        <form className="panel" aria-labelledby="crs-title" onSubmit={(event) => { event.preventDefault(); if (crs.trim() !== '') void upload(needsCrs.file, crs.trim()); }}>
          <h3 id="crs-title">Which coordinate system does {needsCrs.file.name} use?</h3>
          <p role="alert">{needsCrs.message}</p>
          <label>Coordinate system (EPSG:32613, utm:13N, wgs84 or a PROJ string)
            <input value={crs} onChange={(event) => setCrs(event.target.value)} required />
          </label>
          <button type="submit" className="primary" disabled={crs.trim() === ''}>Read the file with it</button>
        </form>
      )}
      {uploaded && (
        <form onSubmit={(event) => void createSite(event)} aria-label="Create the site">
          <p data-testid="upload-summary">
            Read {uploaded.file.filename} as <strong>{uploaded.format}</strong> ({uploaded.sourceCrs}): boundary from {uploaded.boundaryLocation} — {uploaded.boundaryReason}.
          </p>
          {uploaded.repairs.length > 0 && (
            <details open><summary>Repairs made to the geometry ({uploaded.repairs.length})</summary>
              <ul>{uploaded.repairs.map((repair) => <li key={repair}>{repair}</li>)}</ul>
            </details>
          )}
          <BasemapSetting basemaps={config.basemaps} value={basemap} onChange={setBasemap} />
          <MapView name="upload" label="Uploaded parcel and candidate exclusions" basemap={basemap}
            data={{ boundary: geometryCollection(uploaded.boundary), candidates }}
            onCandidateClick={(index) => setChoices((all) => all.map((c, i) => (i === index ? { ...c, chosen: !c.chosen } : c)))} />
          {uploaded.exclusionCandidates.length === 0 ? <p>The file has no other polygon to use as an exclusion.</p> : (
            <table>
              <caption>Other polygons of the file: choose which become exclusions</caption>
              <thead><tr><th scope="col">Exclusion</th><th scope="col">Polygon</th><th scope="col">Kind</th><th scope="col">Buffer (m)</th></tr></thead>
              <tbody>
                {uploaded.exclusionCandidates.map((candidate, index) => {
                  const choice = choices[index];
                  if (!choice) return null;
                  const update = (change: Partial<CandidateChoice>) => setChoices((all) => all.map((c, i) => (i === index ? { ...c, ...change } : c)));
                  const label = candidate.name ?? candidate.location;
                  return (
                    <tr key={candidate.location}>
                      <td><input type="checkbox" aria-label={`Use ${label} as an exclusion`} checked={choice.chosen} onChange={(e) => update({ chosen: e.target.checked })} /></td>
                      <td>{label}</td>
                      <td><select aria-label={`Kind of ${label}`} value={choice.kind} onChange={(e) => update({ kind: e.target.value })}>
                        {EXCLUSION_KINDS.map((kind) => <option key={kind} value={kind}>{kind.replace('_', ' ')}</option>)}
                      </select></td>
                      <td><input type="number" min={0} step="any" aria-label={`Buffer around ${label} in metres`} value={choice.bufferM} onChange={(e) => update({ bufferM: Number(e.target.value) })} /></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          <label>Site name<input required value={name} onChange={(e) => setName(e.target.value)} /></label>
          <button type="submit" disabled={busy !== null}>Create site</button>
        </form>
      )}
    </section>
  );
}
