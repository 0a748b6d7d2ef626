// The console's entry point: reads config.json, then renders the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { loadConfig } from './config';
import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);
loadConfig().then(
  (config) => root.render(<StrictMode><App config={config} /></StrictMode>),
  (error: unknown) => root.render(
    <main className="centred"><h1>Entmoot</h1><p className="error" role="alert">
      The console's configuration could not be read: {error instanceof Error ? error.message : String(error)}
    </p></main>,
  ),
);
