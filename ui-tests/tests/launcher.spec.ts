import { expect, test } from '@jupyterlab/galata';

import type { IJupyterLabPageFixture } from '@jupyterlab/galata';

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
      // Given a sandbox machine launched from the panel, whose launch is held
      // in view once it bootstraps (the page sees the server's real replies up
      // to then, and the same reply after: the sandbox is quicker than a look)
      const held = await holdLaunchInView(page, NAME);
      await cloudlab.openPanel();
      await cloudlab.launch(NAME);
      machineId = await cloudlab.machineId(NAME);

      // Then its notification says where the launch is (Galata runs
      // JupyterLab in do-not-disturb mode: read it in the notification center)
      await expect.poll(held.state, { timeout: 120_000 }).not.toBeNull();
      await showNotifications(page, true);
      const notice = page.locator('.jp-Notification-List-Item', {
        hasText: NAME
      });
      await expect(notice).toContainText(`${NAME}: ${await held.step()}…`);
      await expect(notice).toHaveCount(1);
      await screenshotBothThemes(page, 'launch-progress');
      await showNotifications(page, false);
      await held.release();

      // And the same notification follows the launch to ready
      await cloudlab.waitForState(NAME, 'ready', 120_000);
      await showNotifications(page, true);
      await expect(notice).toContainText(`${NAME} is ready`, {
        timeout: 30_000
      });
      await expect(notice).toHaveCount(1);
      await expect(
        notice.getByRole('button', { name: 'Open notebook' })
      ).toBeVisible();
      await screenshotBothThemes(page, 'launch-notification');
      await showNotifications(page, false);

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

/** Show or hide JupyterLab's notification center (its command toggles it). */
async function showNotifications(
  page: IJupyterLabPageFixture,
  shown: boolean
): Promise<void> {
  const center = page.locator('.jp-Notification-Center');
  if ((await center.isVisible()) !== shown) {
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute(
        'apputils:display-notifications'
      )
    );
  }
  await expect(center).toBeVisible({ visible: shown });
}

/**
 * Hold the machine list the page sees at the first reply that shows the
 * machine bootstrapping, with its step: later polls get that same reply until
 * `release`. `state` is the held state (null until then), `step` the
 * bootstrap's step the notice names.
 */
async function holdLaunchInView(
  page: IJupyterLabPageFixture,
  name: string
): Promise<{
  state: () => string | null;
  step: () => string;
  release: () => Promise<void>;
}> {
  let held: { body: any; machine: any } | null = null;
  const isList = (url: URL) => url.pathname.endsWith('/cloudlab/api/machines');
  await page.route(isList, async route => {
    if (route.request().method() !== 'GET') {
      return route.continue();
    }
    if (held) {
      return route.fulfill({ json: held.body });
    }
    const response = await route.fetch();
    const body = await response.json();
    const machine = body.machines?.find((m: any) => m.name === name);
    if (machine?.state === 'bootstrapping' && machine.message) {
      held = { body, machine };
    }
    return route.fulfill({ response, json: body });
  });
  return {
    state: () => held?.machine.state ?? null,
    step: () => held?.machine.message ?? '',
    release: () => page.unroute(isList)
  };
}
