import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { ViteUserConfig } from 'vitest/config'

// This file is linked into the app, and Vite resolves imports next to the link's target:
// load the plugin from the node_modules of the folder Vite runs in instead.
const { resolve } = createRequire(`${process.cwd()}/`)
const plugin = pathToFileURL(resolve('@vitejs/plugin-react')).href
const { default: react }: typeof import('@vitejs/plugin-react') = await import(plugin)

const api = process.env.VITE_API_TARGET ?? 'http://127.0.0.1:8000'

export default {
  plugins: [react()],
  server: {
    proxy: { '/api': api, '/admin': api, '/static': api },
    // In the dev services the page, and the HMR websocket with it, comes through Caddy for
    // the site's DOMAIN (the HMR client connects back to the page's own host and port).
    allowedHosts: process.env.DOMAIN ? [process.env.DOMAIN] : [],
  },
  test: {
    environment: 'jsdom',
    globals: true,
    // npm run coverage (the app's CI): the app's own code, all of it counted (the generated
    // API client aside), under a floor of 90 %: statements, branches, functions and lines.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.{ts,tsx}'],
      exclude: ['src/api/generated/**'],
      thresholds: { statements: 90, branches: 90, functions: 90, lines: 90 },
    },
  },
} satisfies ViteUserConfig
