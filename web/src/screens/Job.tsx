// A job: live progress over the jobProgress subscription, cancel and retry; then the
// alternatives side by side with their metrics and a chart, the chosen layout on the
// map with a legend and details, every export format, and the layout editor.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ErrorBanner, useApi, useLoad } from '../api';
import { execute } from '../client';
import { describeError } from '../errors';
import { CancelJobMutation, JobProgressSubscription, JobQuery, RetryJobMutation } from '../operations';
import type { JobQuery as JobData } from '../gql/graphql';
import { navigate } from '../router';
import { Legend, MapView } from '../MapView';
import { asFeatureCollection } from '../geometry';
import { formatNumber, formatPercent, formatSeconds, pick } from '../format';
import { describeProgress, foldProgress, isTerminal } from '../progress';
import type { ProgressEvent } from '../progress';
import { BasemapSetting, useBasemap } from './basemap';
import { ExportPanel } from './Export';
import { Editor } from './Editor';
import { ObjectivesChart } from './Chart';

export function JobScreen({ jobId }: { jobId: string }) {
  const { client } = useApi();
  const job = useLoad(JobQuery, { id: jobId });
  const [progress, setProgress] = useState<ProgressEvent | null>(null);
  // The statuses the subscription delivered, in order (shown to tests as data-seen).
  const [seen, setSeen] = useState<string[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const reloadJob = job.reload;

  // The subscription gives the current state first, so leaving and coming back shows
  // where the job is; it ends after the terminal event, and the job is read again.
  useEffect(() => {
    setProgress(null);
    setSeen([]);
    const subscription = client.subscription(JobProgressSubscription, { jobId }).subscribe((result) => {
      if (result.error) { setProblem(describeError(result.error)); return; }
      const event = result.data?.jobProgress;
      if (!event) return;
      setProgress((current) => foldProgress(current, event));
      setSeen((statuses) => (statuses.at(-1) === event.status ? statuses : [...statuses, event.status]));
      if (isTerminal(event.status)) reloadJob();
    });
    return () => subscription.unsubscribe();
  }, [client, jobId, generation, reloadJob]);

  const data = job.data?.job ?? null;
  const status = progress?.status ?? data?.status ?? 'unknown';

  // A read racing the terminal event (urql shares an identical query in flight) can
  // still say running: read again, after that read has finished, until both agree.
  const stale = progress !== null && isTerminal(progress.status) && data !== null && !isTerminal(data.status) && !job.loading;
  useEffect(() => {
    if (stale) reloadJob();
  }, [stale, reloadJob]);

  async function act(kind: 'cancel' | 'retry') {
    setProblem(null);
    try {
      if (kind === 'cancel') await execute(client, CancelJobMutation, { id: jobId }, 'mutation');
      else await execute(client, RetryJobMutation, { id: jobId }, 'mutation');
      job.reload();
      setGeneration((g) => g + 1);
    } catch (error) {
      setProblem(describeError(error));
    }
  }

  return (
    <section aria-labelledby="job-title">
      <ErrorBanner message={job.error ?? problem} />
      {data && (
        <p className="crumbs">
          <a href="/" onClick={(e) => { e.preventDefault(); navigate({ screen: 'projects' }); }}>Projects</a> ›{' '}
          <a href={`/projects/${data.site.project.id}`} onClick={(e) => { e.preventDefault(); navigate({ screen: 'project', projectId: data.site.project.id }); }}>{data.site.project.name}</a> ›{' '}
          <a href={`/sites/${data.site.id}`} onClick={(e) => { e.preventDefault(); navigate({ screen: 'site', siteId: data.site.id }); }}>{data.site.name}</a> › job
        </p>
      )}
      <h1 id="job-title">Optimization job</h1>
      <div className="panel progress-panel" aria-live="polite">
        <p data-testid="job-status" data-status={status} data-source={progress ? 'live' : 'query'} data-seen={seen.join(' ')}>
          {progress ? describeProgress(progress) : data ? `${data.status}, ${Math.round(data.progress * 100)} %` : 'Loading…'}
        </p>
        <progress max={100} value={progress?.percent ?? (data ? data.progress * 100 : 0)} aria-label="Job progress" />
        {progress && (
          <p className="hint">
            Elapsed {formatSeconds(progress.elapsedSeconds)}
            {typeof progress.bestObjective === 'number' && <> · best objective so far {formatNumber(progress.bestObjective, 3)}</>}
            {progress.message && <> · {progress.message}</>}
          </p>
        )}
        {data?.error && <p className="error" role="alert">The job failed: {data.error}</p>}
        {(status === 'QUEUED' || status === 'RUNNING') && <button type="button" onClick={() => void act('cancel')}>Cancel</button>}
        {(status === 'FAILED' || status === 'CANCELLED') && <button type="button" onClick={() => void act('retry')}>Retry</button>}
      </div>
      {data && data.status === 'SUCCEEDED' && data.layouts.length > 0 && <Results job={data} />}
      {data && <ReuseProgram job={data} />}
    </section>
  );
}

/** Hands this job's program to the program editor of a site of the same project. */
function ReuseProgram({ job }: { job: JobData['job'] }) {
  const [siteId, setSiteId] = useState(job.site.id);
  return (
    <form className="panel inline" aria-label="Reuse this program" onSubmit={(event) => {
      event.preventDefault();
      navigate({ screen: 'site', siteId }, { program: job.program });
    }}>
      <label>Use this job's program for the site
        <select value={siteId} onChange={(e) => setSiteId(e.target.value)}>
          {job.site.project.sites.edges.map(({ node: site }) => <option key={site.id} value={site.id}>{site.name}</option>)}
        </select>
      </label>
      <button type="submit">Open it in the program editor</button>
    </form>
  );
}

type LayoutData = JobData['job']['layouts'][number];

const METRIC_ROWS: { label: string; value: (layout: LayoutData) => string }[] = [
  { label: 'Placed / requested', value: (l) => `${l.placedCount} / ${l.requestedCount}` },
  { label: 'Coverage', value: (l) => formatPercent(pick(l.metrics, 'coverage')) },
  { label: 'Footprint (m²)', value: (l) => formatNumber(pick(l.metrics, 'footprint_m2'), 0) },
  { label: 'Road length (m)', value: (l) => formatNumber(pick(l.metrics, 'road_length_m'), 0) },
  { label: 'Total cost', value: (l) => `${formatNumber(pick(l.cost, 'total'), 0)} ${String(pick(l.cost, 'currency') ?? '')}` },
  { label: 'Roads cost', value: (l) => formatNumber(pick(l.cost, 'roads'), 0) },
  { label: 'Assets cost', value: (l) => formatNumber(pick(l.cost, 'assets'), 0) },
  { label: 'Contingency', value: (l) => formatNumber(pick(l.cost, 'contingency'), 0) },
  { label: 'Earthwork cut / fill / net (m³)', value: (l) => (pick(l.earthwork, 'status') === 'unknown' ? 'unknown (no terrain)'
    : `${formatNumber(pick(l.earthwork, 'cut_m3'), 0)} / ${formatNumber(pick(l.earthwork, 'fill_m3'), 0)} / ${formatNumber(pick(l.earthwork, 'net_m3'), 0)}`) },
  { label: 'Weighted objective', value: (l) => formatNumber(pick(l.objectives, 'weighted'), 3) },
];

function Results({ job }: { job: JobData['job'] }) {
  const { config } = useApi();
  const [basemap, setBasemap] = useBasemap();
  const [chosen, setChosen] = useState(job.layouts[0]?.id ?? '');
  const [hovered, setHovered] = useState<Record<string, unknown> | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const layout = job.layouts.find((l) => l.id === chosen) ?? job.layouts[0];
  const collection = useMemo(() => asFeatureCollection(layout?.geojson), [layout]);
  const mapData = useMemo(() => ({ layout: collection, selectedAssetId: selected }), [collection, selected]);
  const onAssetClick = useCallback((id: string | null) => setSelected(id), []);
  if (!layout || !collection) return null;
  const assetTypes = [...new Set(collection.features.filter((f) => f.properties?.kind === 'asset').map((f) => String(f.properties?.asset_type)))];
  const roadClasses = [...new Set(collection.features.filter((f) => f.properties?.kind === 'road').map((f) => String(f.properties?.class)))];
  const selectedFeature = collection.features.find((f) => f.properties?.kind === 'asset' && f.properties.asset_id === selected);
  const details = hovered ?? selectedFeature?.properties ?? null;

  if (editing) {
    return <Editor job={job} layout={layout} onClose={() => setEditing(false)} />;
  }
  return (
    <section aria-labelledby="results-title">
      <h2 id="results-title">Alternatives</h2>
      <div className="alternatives" role="radiogroup" aria-label="Alternatives">
        {job.layouts.map((l) => (
          <button key={l.id} type="button" role="radio" aria-checked={l.id === layout.id} className="card alternative" onClick={() => setChosen(l.id)}>
            <strong>Alternative {l.rank + 1}</strong>
            <dl>{METRIC_ROWS.map((row) => <div key={row.label}><dt>{row.label}</dt><dd>{row.value(l)}</dd></div>)}</dl>
          </button>
        ))}
      </div>
      <ObjectivesChart layouts={job.layouts} />
      <h2>Alternative {layout.rank + 1} on the map</h2>
      <div className="split">
        <div>
          <BasemapSetting basemaps={config.basemaps} value={basemap} onChange={setBasemap} />
          <MapView name="results" label={`Layout of alternative ${layout.rank + 1}`} basemap={basemap} data={mapData}
            onAssetClick={onAssetClick} onAssetHover={setHovered} labels />
        </div>
        <div>
          <Legend assetTypes={assetTypes} roadClasses={roadClasses} />
          <div className="panel" aria-live="polite">
            <h3>Asset details</h3>
            {details ? (
              <dl data-testid="asset-details">
                <dt>Asset</dt><dd>{String(details.asset_id)} ({String(details.name)})</dd>
                <dt>Type</dt><dd>{String(details.asset_type)}</dd>
                <dt>Size</dt><dd>{formatNumber(details.width)} × {formatNumber(details.length)} m, {String(details.shape)}</dd>
                <dt>Rotation</dt><dd>{formatNumber(details.rotation)}°</dd>
              </dl>
            ) : <p className="hint">Hover or click an asset on the map.</p>}
          </div>
          <button type="button" className="primary" onClick={() => setEditing(true)}>Edit this layout</button>
          <ExportPanel layoutId={layout.id} />
        </div>
      </div>
    </section>
  );
}
