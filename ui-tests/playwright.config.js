/**
 * Galata/Playwright configuration for the CloudLab UI tests.
 *
 * Uses Debian's chromium (never `playwright install`); the port comes from
 * CLOUDLAB_UI_PORT (default 8899); run with CI=1 so no stray server is reused.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = Number(process.env.CLOUDLAB_UI_PORT || 8899);
const chromium = process.env.CLOUDLAB_CHROMIUM || '/usr/lib/chromium/chromium';

module.exports = {
  ...baseConfig,
  // A machine takes a while to become ready; each test sets its own timeout
  // where it needs more.
  timeout: 120 * 1000,
  retries: 0,
  workers: 1,
  reporter: [[process.env.CI ? 'list' : 'line'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `http://localhost:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI,
    env: { ...process.env, CLOUDLAB_UI_PORT: String(port) },
    // Let the server stop its sandbox machines before it goes.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20 * 1000 },
    stdout: 'pipe',
    stderr: 'pipe'
  }
};
