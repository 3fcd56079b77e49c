import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { CloudLabHelper } from './cloudlab';

const NAME = 'work-box';
// With a kernelspec, JupyterLab opens it without asking for a kernel.
const NOTEBOOK = JSON.stringify({
  cells: [],
  metadata: {
    kernelspec: {
      name: 'python3',
      display_name: 'Python 3',
      language: 'python'
    }
  },
  nbformat: 4,
  nbformat_minor: 5
});

test.describe('workspace mirror (sandbox)', () => {
  test("a notebook's folder follows its kernel to the machine and back", async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(6 * 60 * 1000);
    const cloudlab = new CloudLabHelper(page);
    const folder = `${tmpPath}/project`;
    let machineId: string | null = null;

    try {
      // Given a notebook beside helper.py and data/train.csv
      await page.contents.uploadContent(
        NOTEBOOK,
        'text',
        `${folder}/analysis.ipynb`
      );
      await page.contents.uploadContent(
        'X = 1\n',
        'text',
        `${folder}/helper.py`
      );
      await page.contents.uploadContent(
        'a,b\n1,2\n',
        'text',
        `${folder}/data/train.csv`
      );
      // And a ready machine
      machineId = await cloudlab.launchReady(NAME);

      // When the notebook runs on the machine's kernel
      await openNotebook(page, `${folder}/analysis.ipynb`);
      await useMachineKernel(page, `cloudlab.${machineId}.python3`);
      await page.notebook.setCell(
        0,
        'code',
        "import helper, csv; print(helper.X, list(csv.reader(open('data/train.csv'))))"
      );
      expect(await page.notebook.runCell(0, true)).toBe(true);

      // Then the helper and the data are there, beside it
      expect(await cellText(page, 0)).toContain("1 [['a', 'b'], ['1', '2']]");

      // When helper.py is edited locally
      await page.contents.uploadContent(
        'X = 22\n',
        'text',
        `${folder}/helper.py`
      );
      expect(
        await page.notebook.addCell(
          'code',
          'import importlib; importlib.reload(helper); print(helper.X)'
        )
      ).toBe(true);
      expect(await page.notebook.runCell(1, true)).toBe(true);
      // Then the next cell sees the change
      expect((await cellText(page, 1)).trim()).toBe('22');

      // When a cell writes out.png on the machine
      expect(
        await page.notebook.addCell(
          'code',
          "open('out.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n')"
        )
      ).toBe(true);
      expect(await page.notebook.runCell(2, true)).toBe(true);
      // Then it appears in JupyterLab's own file browser, in the notebook's folder
      await page.evaluate(async (path: string) => {
        await (window as any).jupyterapp.commands.execute(
          'filebrowser:go-to-path',
          { path }
        );
      }, folder);
      const listing = page.locator('#filebrowser .jp-DirListing-content');
      await expect
        .poll(
          async () => {
            await page.evaluate(async () => {
              await (window as any).jupyterapp.commands.execute(
                'filebrowser:refresh'
              );
            });
            return listing.getByText('out.png', { exact: true }).count();
          },
          { timeout: 30_000 }
        )
        .toBe(1);
      await page.notebook.close(true);
    } finally {
      await cloudlab.terminateById(machineId);
    }
  });
});

/**
 * Open a notebook by its path with JupyterLab's command (Galata's
 * openByPath walks "the" file browser, and each machine adds one).
 */
async function openNotebook(
  page: IJupyterLabPageFixture,
  path: string
): Promise<void> {
  await page.evaluate(async (notebook: string) => {
    await (window as any).jupyterapp.commands.execute('docmanager:open', {
      path: notebook
    });
  }, path);
  await expect
    .poll(
      () =>
        page.evaluate(
          () =>
            (window as any).jupyterapp.shell.currentWidget?.context?.path ?? ''
        ),
      { timeout: 30_000 }
    )
    .toBe(path.replace(/^\//, ''));
}

async function useMachineKernel(
  page: IJupyterLabPageFixture,
  name: string
): Promise<void> {
  await page.evaluate(async (kernel: string) => {
    const widget = (window as any).jupyterapp.shell.currentWidget;
    await widget.sessionContext.ready;
    await widget.sessionContext.changeKernel({ name: kernel });
  }, name);
  await expect
    .poll(
      () =>
        page.evaluate(
          () =>
            (window as any).jupyterapp.shell.currentWidget?.sessionContext
              ?.session?.kernel?.name ?? ''
        ),
      { timeout: 60_000 }
    )
    .toBe(name);
}

async function cellText(
  page: IJupyterLabPageFixture,
  index: number
): Promise<string> {
  return ((await page.notebook.getCellTextOutput(index)) ?? []).join('');
}
