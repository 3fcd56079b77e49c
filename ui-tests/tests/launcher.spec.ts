import { expect, test } from '@jupyterlab/galata';

import { CloudLabHelper, screenshotBothThemes } from './cloudlab';

const NAME = 'card-box';

test.describe('launcher, notifications and log of a machine (sandbox)', () => {
  test('each machine kernel once per kind with its logo, its terminal, the launch notice and the log tab', async ({
    page
  }) => {
    test.setTimeout(4 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;

    try {
      // Given a sandbox machine launched from the panel
      await cloudlab.openPanel();
      await cloudlab.launch(NAME);
      machineId = await cloudlab.machineId(NAME);

      // Then one notification followed the launch to ready (Galata runs
      // JupyterLab in do-not-disturb mode: read it in the notification center)
      await cloudlab.waitForState(NAME, 'ready', 120_000);
      await page.evaluate(() =>
        (window as any).jupyterapp.commands.execute(
          'apputils:display-notifications'
        )
      );
      const notice = page.locator('.jp-Notification-List-Item', {
        hasText: NAME
      });
      await expect(notice).toContainText(`${NAME} is ready`, {
        timeout: 30_000
      });
      await expect(notice).toHaveCount(1);
      await expect(
        notice.getByRole('button', { name: 'Open notebook' })
      ).toBeVisible();
      await screenshotBothThemes(page, 'launch-notification');
      await page.keyboard.press('Escape');

      // When the launcher is opened
      const reply = await page.request.get(
        `cloudlab/api/machines/${machineId}`
      );
      const kernelspecs: string[] = (await reply.json()).kernelspecs;
      expect(kernelspecs.length).toBeGreaterThan(0);
      await cloudlab.openLauncher();

      // Then each of its kernels has one Notebook card and one Console card,
      // each with the kernel's logo (an image served by the local server)
      for (const category of ['Notebook', 'Console'] as const) {
        const cards = cloudlab.launcherCards(NAME, category);
        await expect(cards).toHaveCount(kernelspecs.length, {
          timeout: 30_000
        });
        const logos = cards.locator('img.jp-Launcher-kernelIcon');
        await expect(logos).toHaveCount(kernelspecs.length);
        await expect(logos.first()).toHaveAttribute(
          'src',
          /\/kernelspecs\/cloudlab\.m-[0-9a-f]+\.[^/]+\/logo-/
        );
        expect(
          await logos
            .first()
            .evaluate(img => (img as HTMLImageElement).naturalWidth)
        ).toBeGreaterThan(0);
      }
      // And no other section lists them (no "CloudLab · <name>" duplicate)
      await expect(
        cloudlab.launcher.locator('.jp-LauncherCard', { hasText: NAME })
      ).toHaveCount(2 * kernelspecs.length + 1);
      // And its terminal card sits beside JupyterLab's terminal, named by it
      await expect(
        cloudlab.launcher.locator('.jp-LauncherCard[data-category="Other"]', {
          hasText: `Terminal · ${NAME}`
        })
      ).toHaveCount(1);
      await screenshotBothThemes(page, 'launcher');

      // When "Log" is pressed on its row
      await cloudlab.openPanel();
      await cloudlab
        .machine(NAME)
        .locator('[data-testid="cloudlab-show-log"]')
        .click();

      // Then a tab shows its server's log
      const log = page.locator('[data-testid="cloudlab-log"] pre');
      await expect(log).toContainText('Jupyter Server', { timeout: 30_000 });
      await screenshotBothThemes(page, 'log');
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});
