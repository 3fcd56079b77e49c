import { expect, test } from '@jupyterlab/galata';

import { CloudLabHelper, screenshotBothThemes } from './cloudlab';

const NAME = 'meter-box';

/** The status bar's text and the row's details, read at one moment. */
async function figures(
  page: import('@playwright/test').Page,
  name: string
): Promise<{ status: string; row: string }> {
  return page.evaluate(machineName => {
    const status = document.querySelector(
      '[data-testid="cloudlab-meter-status"]'
    );
    const row = document.querySelector(
      `[data-testid="cloudlab-machine"][data-name="${machineName}"] .jp-CloudLab-machineDetails`
    );
    return {
      status: status?.textContent ?? '',
      row: row?.textContent ?? ''
    };
  }, name);
}

test.describe('the meter in the status bar (sandbox)', () => {
  test('shows the running machine, its $/h and today’s total, as its row does', async ({
    page
  }) => {
    test.setTimeout(4 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;
    try {
      // Given a ready sandbox machine
      machineId = await cloudlab.launchReady(NAME);

      // Then the status bar counts it, at the $/h its row shows, and today's
      // total is what its row says it cost so far (it was launched today)
      await expect
        .poll(
          async () => {
            const { status, row } = await figures(page, NAME);
            const perHour = status.match(/\$[\d.]+\/h/)?.[0];
            const today = status.match(/today ≈ (\$[\d.]+)/)?.[1];
            return (
              status.includes('1 running') &&
              !!perHour &&
              row.includes(perHour) &&
              !!today &&
              row.includes(`≈ ${today} so far`)
            );
          },
          { timeout: 60_000 }
        )
        .toBe(true);

      await screenshotBothThemes(page, 'status-bar', {
        x: 0,
        y: 700,
        width: 1024,
        height: 68
      });

      // When the machine stops, the status bar counts no running machine
      await cloudlab.stop(NAME);
      await cloudlab.waitForState(NAME, 'stopped', 120_000);
      await expect(
        page.locator('[data-testid="cloudlab-meter-status"]')
      ).toContainText('0 running', { timeout: 30_000 });

      // And a click on it opens the panel
      await page.locator('[data-testid="cloudlab-meter-status"] span').click();
      await expect(cloudlab.panel).toBeVisible();
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});
