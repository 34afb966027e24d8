/**
 * The web client's build. `npm run client:build` writes client/dist/, which the API process serves
 * next to /graphql (`npm start` builds it first). `npm run client:dev` starts Vite's dev server with
 * hot reload, proxying the API (GraphQL over HTTP and WebSocket, the OAuth callback, restore
 * downloads) to LABKEEPER_API_URL (default http://localhost:4000).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.LABKEEPER_API_URL ?? 'http://localhost:4000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  // No source maps in the build: the server would publish them next to the bundle.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: true },
      '/oauth': { target: api, changeOrigin: true },
      '/restore': { target: api, changeOrigin: true },
      '/healthz': { target: api, changeOrigin: true },
    },
  },
});
