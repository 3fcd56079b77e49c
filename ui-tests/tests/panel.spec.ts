import { expect, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

test.describe('CloudLab panel', () => {
  test('opens from the side bar and renders the launch form', async ({
    page
  }) => {
    // Given JupyterLab with the extension
    const cloudlab = new CloudLabHelper(page);
    await expect(cloudlab.tab).toBeVisible();
    await expect(cloudlab.tab).toHaveAttribute('title', /CloudLab/);

    // When the panel is opened
    await cloudlab.openPanel();

    // Then the launch form is there
    await expect(cloudlab.panel.locator('.jp-CloudLab-title')).toHaveText(
      'CloudLab'
    );
    for (const control of [
      cloudlab.nameInput,
      cloudlab.instanceTypeSelect,
      cloudlab.imageSelect,
      cloudlab.diskInput,
      cloudlab.spotCheckbox,
      cloudlab.launchButton
    ]) {
      await expect(control).toBeVisible();
    }
    await expect(cloudlab.diskInput).toHaveValue('100');
    await expect(cloudlab.spotCheckbox).not.toBeChecked();
  });
});
