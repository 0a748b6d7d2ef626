// Downloads in every format the API offers (the ExportFormat enum, so a new format
// shows up here by the type check), DXF in metres or feet.
import { useState } from 'react';
import { useApi } from '../api';
import { execute } from '../client';
import { resolveDownloadUrl } from '../config';
import { describeError } from '../errors';
import { ExportLayoutMutation } from '../operations';
import type { DxfUnits, ExportFormat } from '../gql/graphql';

const FORMATS: Record<ExportFormat, string> = {
  GEOJSON: 'GeoJSON', KML: 'KML', KMZ: 'KMZ', DXF: 'DXF', SHAPEFILE_ZIP: 'Shapefile (zip)', GEOPACKAGE: 'GeoPackage',
  SVG: 'SVG', PDF: 'PDF report', LAYOUT_JSON: 'Layout JSON',
};

export function ExportPanel({ layoutId }: { layoutId: string }) {
  const { client, config } = useApi();
  const [dxfUnits, setDxfUnits] = useState<DxfUnits>('METRES');
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  async function download(format: ExportFormat) {
    setProblem(null);
    setStatus(`Preparing the ${FORMATS[format]}…`);
    try {
      const data = await execute(client, ExportLayoutMutation, { layoutId, format, dxfUnits }, 'mutation');
      const link = document.createElement('a');
      link.href = resolveDownloadUrl(data.exportLayout.url, config.graphqlUrl);
      link.download = data.exportLayout.file.filename;
      link.rel = 'noopener';
      document.body.append(link);
      link.click();
      link.remove();
      setStatus(`Downloading ${data.exportLayout.file.filename} (${data.exportLayout.file.sizeBytes.toLocaleString('en-US')} bytes)`);
    } catch (error) {
      setStatus(null);
      setProblem(describeError(error));
    }
  }

  return (
    <section className="panel" aria-labelledby="export-title">
      <h3 id="export-title">Download</h3>
      <label>DXF units
        <select value={dxfUnits} onChange={(e) => setDxfUnits(e.target.value === 'FEET' ? 'FEET' : 'METRES')}>
          <option value="METRES">metres</option><option value="FEET">feet</option>
        </select>
      </label>
      <div className="buttons">
        {(Object.keys(FORMATS) as ExportFormat[]).map((format) => (
          <button key={format} type="button" onClick={() => void download(format)}>{FORMATS[format]}</button>
        ))}
      </div>
      {status && <p role="status" data-testid="export-status">{status}</p>}
      {problem && <p className="error" role="alert">{problem}</p>}
    </section>
  );
}
