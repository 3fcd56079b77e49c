import { expect, galata, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

test.describe('AWS account in the settings (sandbox)', () => {
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-cloudlab:plugin': { awsRegion: 'eu-west-1' }
    }
  });

  test('a region chosen without an AWS account is explained, not ignored', async ({
    page
  }) => {
    // Given CloudLab's settings name the eu-west-1 region, and no AWS account exists
    const cloudlab = new CloudLabHelper(page);

    // When the panel is opened
    await cloudlab.openPanel();

    // Then the sandbox says which region it simulates and when the chosen one applies
    await expect(cloudlab.sandboxBanner).toContainText(
      'The sandbox simulates us-east-1 only: your region, eu-west-1, applies once AWS credentials are found.'
    );
  });
});
