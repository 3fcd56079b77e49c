import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

const NAME = 'ui-box';
const LARGE_OUTPUT_LINES = 250_000;
const LARGE_OUTPUT = `print(''.join(f'{i:07d}\\n' for i in range(${LARGE_OUTPUT_LINES})), end='')`;

test.describe('walking skeleton (sandbox)', () => {
  test('launch a machine, run a cell on it, reboot, stop and terminate it', async ({
    page
  }) => {
    test.setTimeout(6 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;

    try {
      // Given the panel in sandbox mode
      await cloudlab.openPanel();
      await expect(cloudlab.sandboxBanner).toBeVisible();

      // When a machine is launched with the default type and image
      await cloudlab.launch(NAME);
      machineId = await cloudlab.machineId(NAME);

      // Then it becomes ready, its tunnel up
      await cloudlab.waitForState(NAME, 'ready', 120_000);
      await cloudlab.waitForConnection(NAME, 'up');
      await expect(cloudlab.connection(NAME)).toContainText('connected');

      // And the launcher has a section for it with a card per kernel
      await cloudlab.openLauncher();
      const card = cloudlab.launcherCards(NAME).first();
      await expect(card).toBeVisible({ timeout: 30_000 });

      // When the card is clicked, a notebook opens with that machine's kernel
      await card.click();
      await expect(page.locator('.jp-NotebookPanel').last()).toBeVisible();
      await expect
        .poll(() => currentKernelName(page), { timeout: 60_000 })
        .toMatch(new RegExp(`^cloudlab\\.${machineId}\\.`));

      // And code runs on the machine (its home is under the sandbox dir)
      await page.notebook.setCell(
        0,
        'code',
        "import os; print(os.path.expanduser('~'))"
      );
      await page.notebook.runCell(0);
      const output = ((await page.notebook.getCellTextOutput(0)) ?? []).join(
        ''
      );
      expect(output).toContain('cloudlab');
      expect(output.trim()).not.toBe('/root');

      // And a 2 MB output (relayed in pieces while it arrives) shows whole, in order
      await page.notebook.setCell(1, 'code', LARGE_OUTPUT);
      await page.notebook.runCell(1);
      const lines = ((await page.notebook.getCellTextOutput(1)) ?? [])
        .join('')
        .trim()
        .split('\n');
      expect(lines.length).toBe(LARGE_OUTPUT_LINES);
      expect(lines.every((line, i) => Number(line) === i)).toBe(true);
      await page.notebook.close(true);

      // When the machine is rebooted (after confirming)
      await cloudlab.openPanel();
      const states = await cloudlab.watchStates(NAME);
      await cloudlab.reboot(NAME);

      // Then it shows rebooting, and comes back ready and connected with its kernels
      await expect.poll(states, { timeout: 30_000 }).toContain('rebooting');
      await cloudlab.waitForState(NAME, 'ready', 120_000);
      await cloudlab.waitForConnection(NAME, 'up');
      await cloudlab.openLauncher();
      await expect(cloudlab.launcherCards(NAME).first()).toBeVisible({
        timeout: 30_000
      });

      // When the machine is stopped
      await cloudlab.openPanel();
      await cloudlab.stop(NAME);

      // Then it reaches stopped and its launcher section is gone
      await cloudlab.waitForState(NAME, 'stopped', 120_000);
      await cloudlab.openLauncher();
      await expect(cloudlab.launcherCards(NAME)).toHaveCount(0, {
        timeout: 30_000
      });

      // Finally it is terminated (after confirming)
      await cloudlab.openPanel();
      await cloudlab.terminate(NAME);
      await expect
        .poll(async () => (await cloudlab.state(NAME)) ?? 'gone', {
          timeout: 120_000
        })
        .toMatch(/^(terminated|gone)$/);
      machineId = null;
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});

/** The kernel name of the notebook in the main area. */
async function currentKernelName(
  page: IJupyterLabPageFixture
): Promise<string> {
  // A kernel that fails to start shows a dialog: report its text at once.
  const dialog = page.locator('.jp-Dialog');
  if ((await dialog.count()) > 0) {
    throw new Error(`Dialog instead of a kernel: ${await dialog.innerText()}`);
  }
  return page.evaluate(() => {
    const widget = (window as any).jupyterapp.shell.currentWidget;
    return widget?.sessionContext?.session?.kernel?.name ?? '';
  });
}
