// The map setting: no basemap (works offline) or one of the configured raster basemaps.
// Kept in memory only: the token is the one thing the console stores.
import { createContext, useContext, useState } from 'react';
import type { ReactNode } from 'react';
import type { Basemap } from '../config';

const BasemapContext = createContext<[Basemap | null, (basemap: Basemap | null) => void] | null>(null);

export function BasemapProvider({ children }: { children: ReactNode }) {
  const state = useState<Basemap | null>(null);
  return <BasemapContext.Provider value={state}>{children}</BasemapContext.Provider>;
}

export function useBasemap(): [Basemap | null, (basemap: Basemap | null) => void] {
  const value = useContext(BasemapContext);
  const local = useState<Basemap | null>(null);
  return value ?? local;
}

export function BasemapSetting({ basemaps, value, onChange }: {
  basemaps: Basemap[];
  value: Basemap | null;
  onChange: (basemap: Basemap | null) => void;
}) {
  return (
    <label className="basemap-setting">Basemap
      <select value={value?.id ?? ''} onChange={(e) => onChange(basemaps.find((b) => b.id === e.target.value) ?? null)}>
        <option value="">None (offline grid)</option>
        {basemaps.map((basemap) => <option key={basemap.id} value={basemap.id}>{basemap.label} (needs the internet)</option>)}
      </select>
    </label>
  );
}
