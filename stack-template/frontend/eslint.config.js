import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

// This file is linked into the app, and Node resolves imports next to the link's target:
// load the plugins from the node_modules of the folder ESLint runs in instead.
const { resolve } = createRequire(`${process.cwd()}/`)
const load = async (name) => (await import(pathToFileURL(resolve(name)).href)).default

const js = await load('@eslint/js')
const globals = await load('globals')
const reactHooks = await load('eslint-plugin-react-hooks')
const reactRefresh = await load('eslint-plugin-react-refresh')
const tseslint = await load('typescript-eslint')
const { defineConfig, globalIgnores } = await load('eslint/config')

export default defineConfig([
  // src/api/generated: the API's client as make api-client writes it, never edited.
  globalIgnores(['dist', 'src/api/generated']),
  {
    files: ['**/*.{ts,tsx}'],
    extends: [
      js.configs.recommended,
      tseslint.configs.recommended,
      reactHooks.configs.flat.recommended,
      reactRefresh.configs.vite,
    ],
    languageOptions: {
      ecmaVersion: 2020,
      globals: globals.browser,
    },
  },
])
