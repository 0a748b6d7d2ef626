// Vite builds two pages into dist/: the console (index.html) and GraphiQL
// (graphiql.html), both embedded in the entmoot binary. Vitest runs the unit tests.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // Absolute asset URLs: the console's routes are paths (/jobs/…), so relative URLs
  // would resolve under them. The bundle is served at the root of its origin.
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: { console: 'index.html', graphiql: 'graphiql.html' },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
