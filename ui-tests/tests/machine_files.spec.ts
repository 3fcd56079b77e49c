import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { CloudLabHelper, SCREENSHOTS } from './cloudlab';

const NAME = 'files-box';
const UPLOADED = 'hello-machine.txt';
/** The sandbox machine's home: `<data dir>/sandbox/machines/<instance id>/home/ubuntu`. */
const MACHINE_HOME = /\/sandbox\/machines\/i-[0-9a-f]+\/home\/ubuntu/;

test.describe("the machine's files and terminal (sandbox)", () => {
  test('upload a file through the machine drive, then run pwd in its terminal', async ({
    page
  }) => {
    test.setTimeout(5 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    let machineId: string | null = null;

    try {
      // Given a ready sandbox machine
      machineId = await cloudlab.launchReady(NAME);
      await cloudlab.waitForConnection(NAME, 'up');

      // When its files browser is opened from the left bar
      const browserId = `jupyter-cloudlab-files-${machineId}`;
      await page.locator(`.lm-TabBar-tab[data-id="${browserId}"]`).click();
      const browser = page.locator(`#${browserId}`);
      await expect(browser).toBeVisible();

      // And a file is uploaded with JupyterLab's own upload button
      const chooser = page.waitForEvent('filechooser');
      await browser
        .locator('.jp-ToolbarButtonComponent[title="Upload Files"]')
        .click();
      await (
        await chooser
      ).setFiles({
        name: UPLOADED,
        mimeType: 'text/plain',
        buffer: Buffer.from('uploaded through the machine drive\n')
      });

      // Then the machine's listing shows it
      await expect(
        browser.locator('.jp-DirListing-itemText', { hasText: UPLOADED })
      ).toBeVisible({ timeout: 30_000 });

      // When the row's Terminal button is clicked and `pwd` typed
      await cloudlab.openPanel();
      await cloudlab
        .machine(NAME)
        .locator('[data-testid="cloudlab-terminal"]')
        .click();
      const terminal = page.locator('.jp-CloudLab-machineTerminal').last();
      await expect(terminal.locator('.xterm')).toBeVisible({ timeout: 30_000 });
      // (the shell's prompt first: keys typed before it may be lost)
      await expect
        .poll(async () => (await terminalText(page)).trim().length, {
          timeout: 30_000
        })
        .toBeGreaterThan(0);
      await terminal.locator('.xterm').click();
      await page.keyboard.type('pwd');
      await page.keyboard.press('Enter');

      // Then the machine's shell answers with the machine's home
      await expect
        .poll(() => terminalText(page), { timeout: 30_000 })
        .toMatch(MACHINE_HOME);

      // A picture of both for the docs: the machine's files beside its terminal
      await page.locator(`.lm-TabBar-tab[data-id="${browserId}"]`).click();
      await expect(browser).toBeVisible();
      if (SCREENSHOTS) {
        await page.screenshot({ path: '../docs/machine-files.png' });
      }
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});

/** The text of the terminal in the main area, from xterm's buffer. */
async function terminalText(page: IJupyterLabPageFixture): Promise<string> {
  return page.evaluate(() => {
    const widget = (window as any).jupyterapp.shell.currentWidget;
    const term = widget?.content?._term;
    if (!term) {
      return '';
    }
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    }
    return lines.join('\n');
  });
}
