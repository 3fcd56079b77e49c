import { expect, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

const NAME = 'idle-stop';

test.describe('idle stop (sandbox)', () => {
  test('a machine launched with an idle limit keeps it; left idle for its limit, it stops by itself and says why', async ({
    page
  }) => {
    test.setTimeout(6 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;
    try {
      // Given a sandbox machine launched with an idle limit typed in the form
      await cloudlab.openPanel();
      await expect(cloudlab.idleMinutesInput).toHaveValue('30'); // the server's
      machineId = await cloudlab.launchReady(NAME, { idleMinutes: 7 });
      const row = cloudlab.machine(NAME);
      // Then once ready its row shows that limit, and the countdown its guard
      // reports is the machine's own (7 minutes, not the default 30)
      await expect(
        row.locator('[data-testid="cloudlab-idle-minutes"]')
      ).toHaveValue('7');
      await expect(
        row.locator('[data-testid="cloudlab-idle-countdown"]')
      ).toHaveText(/^stops in [1-6] min \d+ s if idle$/, { timeout: 30_000 });

      // When its idle limit is set to 1 minute on its row
      const limit = row.locator('[data-testid="cloudlab-idle-minutes"]');
      await limit.fill('1');
      await limit.press('Enter');
      // Then the row counts down to the idle stop
      await expect(
        row.locator('[data-testid="cloudlab-idle-countdown"]')
      ).toContainText('if idle', { timeout: 30_000 });

      // And with every notebook closed, it stops by itself with the reason
      await page.evaluate(async () => {
        await (window as any).jupyterapp.commands.execute(
          'application:close-all'
        );
      });
      await cloudlab.waitForState(NAME, 'stopped', 3 * 60_000);
      await expect(
        row.locator('[data-testid="cloudlab-stop-reason"]')
      ).toContainText('idle');

      // And its compute cost is frozen at the stop: from now on it costs only
      // its disk (EBS bills while stopped), and the status bar counts it no more
      const figures = () =>
        page.evaluate(async (id: string | null) => {
          const reply = await fetch('/cloudlab/api/machines');
          const { machines } = await reply.json();
          const machine = machines.find((m: any) => m.id === id);
          return {
            spent: machine?.spent_usd as number,
            diskPerMonth: machine?.stopped_cost_per_month as number,
            at: Date.now()
          };
        }, machineId);
      await expect(
        page.locator('[data-testid="cloudlab-meter-status"]')
      ).toContainText('0 running', { timeout: 30_000 });
      await page.waitForTimeout(3_000); // the meter has learned EC2's stop time
      const first = await figures();
      await page.waitForTimeout(5_000);
      const then = await figures();
      const diskPerMs = first.diskPerMonth / (730 * 3600 * 1000);
      expect(then.spent - first.spent).toBeLessThanOrEqual(
        diskPerMs * (then.at - first.at) * 1.5 + 1e-9
      );
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});
