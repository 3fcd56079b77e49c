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

  test('offers disk types, and persistent spot only with spot', async ({
    page
  }) => {
    // Given the open panel
    const cloudlab = new CloudLabHelper(page);
    await cloudlab.openPanel();

    // Then the disk type defaults to gp3 and offers the EBS types
    await expect(cloudlab.diskTypeSelect).toHaveValue('gp3');
    await expect(cloudlab.diskTypeSelect.locator('option')).toHaveText([
      'gp3',
      'gp2',
      'io1',
      'io2'
    ]);

    // And "Keep" shows only while Spot is checked
    await expect(cloudlab.spotPersistentCheckbox).toHaveCount(0);
    await cloudlab.spotCheckbox.check();
    await expect(cloudlab.spotPersistentCheckbox).toBeVisible();
    await expect(cloudlab.spotPersistentCheckbox).not.toBeChecked();
    await cloudlab.spotCheckbox.uncheck();
    await expect(cloudlab.spotPersistentCheckbox).toHaveCount(0);
  });
});
