/**
 * Builds the renderer into dist/ui: one bundle the agent's web listener serves and the
 * Electron window loads. Relative asset paths (`base: './'`) so it works from http://127.0.0.1:PORT/
 * and from the app's own protocol alike; no inline scripts or styles, so the strict CSP holds.
 */
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [preact()],
  build: {
    outDir: '../../dist/ui',
    emptyOutDir: true,
    // No modulepreload polyfill: it is inline-free anyway, and both targets are modern Chromium.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    target: 'es2022',
  },
});
