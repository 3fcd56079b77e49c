/**
 * Start JupyterLab for the UI tests with a fresh Jupyter data dir, so that
 * sandbox machines and kernelspecs of one run never leak into the next.
 *
 * Port: CLOUDLAB_UI_PORT (default 8899). Keep the data dir after the run with
 * CLOUDLAB_UI_KEEP_DATA=1.
 */
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudlab-ui-data-'));
const env = {
  ...process.env,
  JUPYTER_DATA_DIR: dataDir,
  JUPYTER_RUNTIME_DIR: path.join(dataDir, 'runtime'),
  CLOUDLAB_UI_PORT: process.env.CLOUDLAB_UI_PORT || '8899'
};
console.log(`[cloudlab-ui] JUPYTER_DATA_DIR=${dataDir}`);

const child = spawn(
  process.env.JUPYTER || 'jupyter',
  [
    'lab',
    '--config',
    path.join(__dirname, 'jupyter_server_test_config.py'),
    '--allow-root',
    ...process.argv.slice(2)
  ],
  { cwd: __dirname, env, stdio: 'inherit' }
);

const cleanUp = () => {
  if (process.env.CLOUDLAB_UI_KEEP_DATA !== '1') {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
};

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  cleanUp();
  process.exit(code ?? (signal ? 1 : 0));
});
