import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';

import { expect, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

const NAME = 'ui-cut';
const COUNT = 30;
const CUT_SECONDS = 15;
const REPO = path.resolve(__dirname, '..', '..');
const PYTHON =
  process.env.CLOUDLAB_PYTHON || path.join(REPO, '.venv', 'bin', 'python');
const COUNTER = [
  'import time',
  `for i in range(${COUNT}):`,
  '    print(i, flush=True)',
  '    time.sleep(1)'
].join('\n');

/**
 * The link is cut for real: the machine's OpenSSH sshd (the sandbox runs one per machine when
 * root) stops answering new connections and the sshd processes carrying our tunnel are killed;
 * after CUT_SECONDS sshd is thawed and the tunnel heals by itself (tests/kernel_helpers.py).
 */
async function cutLink(instanceId: string, seconds: number): Promise<void> {
  await promisify(execFile)(
    PYTHON,
    ['-m', 'tests.helpers.sshd_cut', 'cut-link', instanceId, String(seconds)],
    { cwd: REPO }
  );
}

test.describe('reconnect (sandbox, OpenSSH)', () => {
  test('output printed while the tunnel is cut shows in order', async ({
    page
  }) => {
    test.setTimeout(6 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;
    try {
      // Given a notebook on a ready machine's kernel
      await cloudlab.openPanel();
      await cloudlab.launch(NAME);
      machineId = await cloudlab.machineId(NAME);
      await cloudlab.waitForState(NAME, 'ready', 180_000);
      const reply = await page.request.get(
        `cloudlab/api/machines/${encodeURIComponent(machineId ?? '')}`
      );
      const machine = await reply.json();
      await cloudlab.openLauncher();
      await cloudlab.launcherCards(NAME).first().click();
      await expect(page.locator('.jp-NotebookPanel').last()).toBeVisible();

      // When a cell prints a counter every second
      await page.notebook.setCell(0, 'code', COUNTER);
      const running = page.notebook.runCell(0);
      const output = page.locator('.jp-OutputArea-output').first();
      await expect(output).toContainText('2', { timeout: 60_000 });

      // And the tunnel is cut for 15 s meanwhile
      await cloudlab.waitForConnection(NAME, 'up');
      const cut = cutLink(machine.instance_id, CUT_SECONDS);

      // Then the panel shows the machine reconnecting (not dead) during the cut
      await cloudlab.waitForConnection(NAME, 'down', CUT_SECONDS * 1000);
      await expect(cloudlab.connection(NAME)).toContainText('reconnecting');
      await cut;

      // And connected again once the link is back
      await cloudlab.waitForConnection(NAME, 'up');

      // And every value shows, in order, once
      await running;
      await expect
        .poll(
          async () =>
            ((await page.notebook.getCellTextOutput(0)) ?? []).join('').trim(),
          { timeout: 120_000 }
        )
        .toBe(Array.from({ length: COUNT }, (_, i) => String(i)).join('\n'));
      await page.notebook.close(true);
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});
