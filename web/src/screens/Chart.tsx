// The five objective scores of each alternative as grouped bars (plain SVG: no chart
// library in the bundle), with the numbers in a table for screen readers.
import { pick, formatNumber } from '../format';

const OBJECTIVES: [string, string][] = [
  ['cost', 'Cost'], ['buildable_area', 'Buildable area'], ['accessibility', 'Accessibility'],
  ['environmental_impact', 'Environmental impact'], ['aesthetics', 'Aesthetics'],
];
const COLOURS = ['#3b6fb6', '#e67e22', '#4f8a3c', '#7b4fa8', '#c0392b', '#2a9bb5'];

export function ObjectivesChart({ layouts }: { layouts: { id: string; rank: number; objectives: unknown }[] }) {
  const width = 560;
  const height = 180;
  const groupWidth = width / OBJECTIVES.length;
  const barWidth = Math.min(24, (groupWidth - 16) / Math.max(layouts.length, 1));
  return (
    <figure className="chart">
      <figcaption>Objective scores (0 to 1, higher is better) per alternative</figcaption>
      <svg viewBox={`0 0 ${width} ${height + 30}`} role="img" aria-label="Objective scores per alternative; the table below has the numbers">
        <line x1={0} y1={height} x2={width} y2={height} stroke="#555" />
        {OBJECTIVES.map(([key, label], objectiveIndex) => (
          <g key={key} transform={`translate(${objectiveIndex * groupWidth + 8},0)`}>
            {layouts.map((layout, index) => {
              const value = pick(layout.objectives, key);
              const score = typeof value === 'number' ? Math.max(0, Math.min(1, value)) : 0;
              return <rect key={layout.id} x={index * barWidth} y={height - score * (height - 10)} width={barWidth - 2} height={score * (height - 10)} fill={COLOURS[index % COLOURS.length]} />;
            })}
            <text x={0} y={height + 16} fontSize={11}>{label}</text>
          </g>
        ))}
      </svg>
      <table className="compact">
        <thead><tr><th scope="col">Alternative</th>{OBJECTIVES.map(([key, label]) => <th key={key} scope="col">{label}</th>)}</tr></thead>
        <tbody>
          {layouts.map((layout, index) => (
            <tr key={layout.id}>
              <th scope="row"><span className="swatch" style={{ background: COLOURS[index % COLOURS.length] }} /> {layout.rank + 1}</th>
              {OBJECTIVES.map(([key]) => <td key={key}>{formatNumber(pick(layout.objectives, key), 3)}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
