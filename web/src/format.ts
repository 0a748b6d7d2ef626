// Numbers and values as people read them.

import type { MemberRole } from './gql/graphql';

/** A role as the console names it in running text: `ADMIN` reads "admin". */
export function roleLabel(role: MemberRole): string {
  return role.toLowerCase();
}

export function formatNumber(value: unknown, digits = 1): string {
  return typeof value === 'number' && Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits })
    : '—';
}

export function formatPercent(fraction: unknown): string {
  return typeof fraction === 'number' && Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)} %` : '—';
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** A value at `path` (dot separated) of a JSON object, or undefined. */
export function pick(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A length: metres below 10 km, kilometres from there. */
export function formatLength(metres: number): string {
  return metres < 10_000 ? `${formatNumber(metres, 1)} m` : `${formatNumber(metres / 1000, 2)} km`;
}

/** An area: square metres below a hectare, hectares from there (with the m² too). */
export function formatArea(squareMetres: number): string {
  return squareMetres < 10_000
    ? `${formatNumber(squareMetres, 0)} m²`
    : `${formatNumber(squareMetres / 10_000, 2)} ha (${formatNumber(squareMetres, 0)} m²)`;
}
