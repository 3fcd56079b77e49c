import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

const NAME = 'a11y-box';

test.describe('accessibility of the CloudLab panel (sandbox)', () => {
  test('has no serious or critical axe violations with a machine listed', async ({
    page
  }) => {
    test.setTimeout(4 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;
    try {
      // Given the panel with a ready machine (its actions, workspace, guard)
      machineId = await cloudlab.launchReady(NAME);

      // When axe checks the panel (WCAG 2.1 A and AA rules)
      const results = await new AxeBuilder({ page })
        .include(`#${CloudLabHelper.PANEL_ID}`)
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
        .analyze();

      // Then nothing serious or critical is found
      const severe = results.violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(
          v => `${v.impact} ${v.id}: ${v.nodes.map(n => n.target).join(', ')}`
        );
      console.log(
        `axe: ${results.violations.length} violations (${results.violations
          .map(v => `${v.impact} ${v.id}`)
          .join('; ')}), ${results.passes.length} rules passed`
      );
      expect(severe).toEqual([]);

      // And a row's actions are reachable from the keyboard, each naming its machine
      const stop = cloudlab
        .machine(NAME)
        .locator('[data-testid="cloudlab-stop"]');
      await stop.focus();
      await expect(stop).toBeFocused();
      await expect(stop).toHaveAttribute('aria-label', new RegExp(NAME));
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});
