import { defineConfig, devices } from '@playwright/test'

// The site in development mode (make dev), whose mail catcher shows the mails at /mail/.
// make e2e passes its address; CI may pass a browser of its own (else `npx playwright install`'s).
export default defineConfig({
  testDir: '.',
  timeout: 60_000,
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    ...devices['Desktop Chrome'],
    baseURL: process.env.E2E_BASE_URL ?? 'https://localhost',
    // Development mode's certificate comes from Caddy's local CA.
    ignoreHTTPSErrors: true,
    trace: 'retain-on-failure',
    launchOptions: { executablePath: process.env.PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH || undefined },
  },
})
