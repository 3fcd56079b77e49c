import { expect, test } from '@jupyterlab/galata';
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

const PALETTE_LAUNCH = 'Launch a CloudLab Machine';
const NAME = 'asks-box';

test.describe('CloudLab asks before what costs or loses work (sandbox)', () => {
  test('a launch from the command palette asks first, with the type and its $/h', async ({
    page
  }) => {
    test.setTimeout(3 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    await cloudlab.openPanel();
    const rows = page.locator('[data-testid="cloudlab-machine"]');
    const before = await rows.count();
    let launched: string | null = null;

    try {
      // When "Launch a CloudLab Machine" is run from the command palette
      const dialog = await runFromPalette(page, PALETTE_LAUNCH);

      // Then a dialog names the instance type and what it costs per hour, as
      // the catalog prices it
      const title = await dialog.locator('.jp-Dialog-header').innerText();
      const type = /^Launch a (\S+)\?$/.exec(title.trim())?.[1];
      expect(type, `dialog title: ${title}`).toBeTruthy();
      const catalog = await page.request.get(
        'cloudlab/api/catalog/instance-types'
      );
      const offered = (await catalog.json()).instance_types.find(
        (t: any) => t.name === type
      );
      expect(offered?.price_per_hour).toBeGreaterThan(0);
      const body = await dialog.locator('.jp-Dialog-body').innerText();
      expect(body).toContain(`A ${type} machine costs $`);
      const shown = Number(/\$([\d.]+)\/h/.exec(body)?.[1]);
      expect(shown).toBeCloseTo(offered.price_per_hour, 4);
      await expect(
        dialog.getByRole('button', { name: 'Cancel' })
      ).toBeVisible();

      // When it is cancelled, no machine is launched
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await expect(dialog).toHaveCount(0);
      await page.waitForTimeout(2000); // a launch would show its row at once
      await expect(rows).toHaveCount(before);

      // When it is run again and accepted, a machine of that type launches
      const again = await runFromPalette(page, PALETTE_LAUNCH);
      await again.getByRole('button', { name: 'Launch' }).click();
      await expect(rows).toHaveCount(before + 1, { timeout: 30_000 });
      const reply = await page.request.get('cloudlab/api/machines');
      const machine = (await reply.json()).machines.find(
        (m: any) => m.instance_type === type && m.state !== 'terminated'
      );
      expect(machine).toBeTruthy();
      launched = machine.id;
    } finally {
      await cloudlab.terminateById(launched);
    }
  });

  test('Stop asks when kernels run on the machine, and they end only if it goes ahead', async ({
    page
  }) => {
    test.setTimeout(4 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;

    try {
      // Given a ready machine with a kernel started on it a moment ago
      machineId = await cloudlab.launchReady(NAME);
      const details = await page.request.get(
        `cloudlab/api/machines/${machineId}`
      );
      const kernelName: string = (await details.json()).kernelspecs[0];
      const started = await page.request.post('api/kernels', {
        data: { name: kernelName }
      });
      expect(started.status()).toBe(201);
      const kernelId: string = (await started.json()).id;

      // When Stop is pressed on its row (before the panel's next reload)
      await cloudlab.stop(NAME);

      // Then it asks first, saying the kernel ends
      const dialog = page.locator('.jp-Dialog');
      await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
        `Stop ${NAME}?`
      );
      await expect(dialog.locator('.jp-Dialog-body')).toContainText(
        `The kernel running on ${NAME} ends`
      );
      // And the row now counts that kernel
      await expect(cloudlab.connection(NAME)).toContainText('1 kernel');

      // When cancelled, the machine and its kernel go on
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await expect(dialog).toHaveCount(0);
      await page.waitForTimeout(2000);
      expect(await cloudlab.state(NAME)).toBe('ready');
      expect((await page.request.get(`api/kernels/${kernelId}`)).status()).toBe(
        200
      );

      // When Stop is pressed again and confirmed, the machine stops
      await cloudlab.stop(NAME);
      await dialog.getByRole('button', { name: 'Stop' }).click();
      await cloudlab.waitForState(NAME, 'stopped', 120_000);
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});

/** Run a command by its label from the command palette; the dialog it opens. */
async function runFromPalette(
  page: IJupyterLabPageFixture,
  label: string
): Promise<ReturnType<IJupyterLabPageFixture['locator']>> {
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await expect(palette).toBeVisible();
  await palette.locator('.lm-CommandPalette-input').fill(label);
  const item = palette.locator('.lm-CommandPalette-item', { hasText: label });
  await expect(item.first()).toBeVisible();
  await page.keyboard.press('Enter');
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toBeVisible();
  return dialog;
}
