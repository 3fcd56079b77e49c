import { expect, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

const NAME = 'outside-stop';

/**
 * Stops the machine as another tool would: `jupyter cloudlab stop`, from a
 * local kernel (it shares the server's data folder, so the CLI finds the
 * sandbox), never through this server.
 */
const STOP_FROM_OUTSIDE = [
  'import subprocess, sys',
  `done = subprocess.run([sys.executable, "-m", "jupyter_cloudlab.cli", "stop", "${NAME}"], capture_output=True, text=True)`,
  'print(done.returncode, done.stdout, done.stderr)'
].join('\n');

test.describe('every stop explained (sandbox)', () => {
  test('a stop from outside shows its reason on the row and as a notification; resize shows the price', async ({
    page
  }) => {
    test.setTimeout(5 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;
    try {
      // Given a ready sandbox machine
      machineId = await cloudlab.launchReady(NAME);

      // When another tool stops it
      await page.notebook.createNew();
      await page.notebook.setCell(0, 'code', STOP_FROM_OUTSIDE);
      await page.notebook.runCell(0);
      await cloudlab.openPanel();

      // Then its row says who stopped it, and a notification says so too
      await cloudlab.waitForState(NAME, 'stopped', 120_000);
      const row = cloudlab.machine(NAME);
      await expect(
        row.locator('[data-testid="cloudlab-stop-reason"]')
      ).toContainText('Stopped from outside CloudLab');
      await expect(
        page.locator('.Toastify__toast', {
          hasText: `${NAME}: Stopped from outside CloudLab`
        })
      ).toHaveCount(1, { timeout: 30_000 });

      // And the stopped machine offers Resize and Save image; Resize shows
      // the price before and after, and the row follows
      await expect(row.locator('[data-testid="cloudlab-image"]')).toBeVisible();
      await row.locator('[data-testid="cloudlab-resize"]').click();
      const dialog = page.locator('.jp-Dialog');
      await expect(
        dialog.locator('[data-testid="cloudlab-resize-price"]')
      ).toContainText('→');
      const chosen = await dialog
        .locator('[data-testid="cloudlab-resize-type"]')
        .inputValue();
      await dialog.locator('.jp-mod-accept').click();
      await expect(row.locator('.jp-CloudLab-machineDetails')).toContainText(
        chosen
      );
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});
