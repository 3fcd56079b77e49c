import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect, Locator } from '@playwright/test';

/** The states a machine goes through (see jupyter_cloudlab/openapi.yaml). */
export type MachineState =
  | 'requesting'
  | 'pending'
  | 'connecting'
  | 'bootstrapping'
  | 'ready'
  | 'stopping'
  | 'stopped'
  | 'starting'
  | 'rebooting'
  | 'terminating'
  | 'terminated'
  | 'failed';

/** A machine's tunnel (see jupyter_cloudlab/events/connection.yaml). */
export type TunnelState = 'up' | 'down' | 'gone' | 'detached';

export interface ILaunchOptions {
  instanceType?: string;
  imageId?: string;
  diskGib?: number;
  diskType?: 'gp3' | 'gp2' | 'io1' | 'io2';
  spot?: boolean;
  /** Spot only: stop instead of terminate on interruption. */
  spotPersistent?: boolean;
  /** Typed in the form's "Idle stop (min)"; else the server's default. */
  idleMinutes?: number;
  /** Typed in the form's "Budget ($)"; else the server's default. */
  budgetUsd?: number;
}

/**
 * Selectors and actions of the CloudLab panel and its launcher sections.
 */
export class CloudLabHelper {
  static readonly PANEL_ID = 'jupyter-cloudlab-panel';

  constructor(readonly page: IJupyterLabPageFixture) {}

  /** The side panel. */
  get panel(): Locator {
    return this.page.locator(`#${CloudLabHelper.PANEL_ID}`);
  }

  /** The side bar tab that opens the panel. */
  get tab(): Locator {
    return this.page.locator(
      `.jp-SideBar .lm-TabBar-tab[data-id="${CloudLabHelper.PANEL_ID}"]`
    );
  }

  get sandboxBanner(): Locator {
    return this.byTestId('cloudlab-sandbox-banner');
  }
  get nameInput(): Locator {
    return this.byTestId('cloudlab-name');
  }
  get instanceTypeSelect(): Locator {
    return this.byTestId('cloudlab-instance-type');
  }
  get imageSelect(): Locator {
    return this.byTestId('cloudlab-image');
  }
  get diskInput(): Locator {
    return this.byTestId('cloudlab-disk');
  }
  get diskTypeSelect(): Locator {
    return this.byTestId('cloudlab-disk-type');
  }
  get spotCheckbox(): Locator {
    return this.byTestId('cloudlab-spot');
  }
  /** Shown only while Spot is checked. */
  get spotPersistentCheckbox(): Locator {
    return this.byTestId('cloudlab-spot-persistent');
  }
  get idleMinutesInput(): Locator {
    return this.byTestId('cloudlab-launch-idle-minutes');
  }
  get budgetInput(): Locator {
    return this.byTestId('cloudlab-launch-budget-usd');
  }
  get launchButton(): Locator {
    return this.byTestId('cloudlab-launch');
  }
  get error(): Locator {
    return this.byTestId('cloudlab-error');
  }

  /** An element of the panel by its `data-testid`. */
  byTestId(testId: string): Locator {
    return this.panel.locator(`[data-testid="${testId}"]`);
  }

  /** The row of the machine with this name. */
  machine(name: string): Locator {
    return this.panel.locator(
      `[data-testid="cloudlab-machine"][data-name="${name}"]`
    );
  }

  /** The tunnel status of a ready machine's row (absent while unknown). */
  connection(name: string): Locator {
    return this.machine(name).locator('[data-testid="cloudlab-connection"]');
  }

  /** The launcher shown in the main area (others may sit in hidden tabs). */
  get launcher(): Locator {
    return this.page.locator('.jp-Launcher:visible');
  }

  /**
   * A machine's kernel cards in one of JupyterLab's kernel sections (their
   * display names end with " · <machine> · <type>"; Notebook by default).
   */
  launcherCards(
    machineName: string,
    category: 'Notebook' | 'Console' = 'Notebook'
  ): Locator {
    return this.launcher.locator(
      `.jp-LauncherCard[data-category="${category}"][title*=" · ${machineName} · "]`
    );
  }

  /** A card of the shown launcher by its text (e.g. a kernel display name). */
  launcherCard(text: string): Locator {
    return this.launcher.locator('.jp-LauncherCard', { hasText: text });
  }

  async openPanel(): Promise<void> {
    await this.page.sidebar.openTab(CloudLabHelper.PANEL_ID);
    await expect(this.panel).toBeVisible();
    // The catalog has loaded when the launch form has a choice.
    await expect(this.launchButton).toBeVisible();
  }

  /**
   * Launch a machine; resolves when its row is shown. Without options, the
   * form's defaults are used.
   */
  async launch(name: string, options: ILaunchOptions = {}): Promise<void> {
    await expect(this.launchButton).toBeEnabled({ timeout: 30_000 });
    await this.nameInput.fill(name);
    if (options.instanceType) {
      await this.instanceTypeSelect.selectOption(options.instanceType);
    }
    if (options.imageId) {
      await this.imageSelect.selectOption(options.imageId);
    }
    if (options.diskGib !== undefined) {
      await this.diskInput.fill(String(options.diskGib));
    }
    if (options.diskType) {
      await this.diskTypeSelect.selectOption(options.diskType);
    }
    if (options.spot !== undefined) {
      await this.spotCheckbox.setChecked(options.spot);
    }
    if (options.spotPersistent !== undefined) {
      await this.spotPersistentCheckbox.setChecked(options.spotPersistent);
    }
    if (options.idleMinutes !== undefined) {
      await this.idleMinutesInput.fill(String(options.idleMinutes));
    }
    if (options.budgetUsd !== undefined) {
      await this.budgetInput.fill(String(options.budgetUsd));
    }
    await this.launchButton.click();
    await expect(this.machine(name)).toHaveCount(1, { timeout: 30_000 });
  }

  /**
   * Record every state the machine's row shows from now on, however briefly
   * (a sandbox reboot can be over between two polls); returns a reader.
   */
  async watchStates(name: string): Promise<() => Promise<string[]>> {
    const key = `cloudlabStates:${name}`;
    await this.page.evaluate(
      ({ name, key }) => {
        const seen: string[] = [];
        (window as any)[key] = seen;
        const record = () => {
          const state = document
            .querySelector(
              `[data-testid="cloudlab-machine"][data-name="${name}"]`
            )
            ?.getAttribute('data-state');
          if (state && seen[seen.length - 1] !== state) {
            seen.push(state);
          }
        };
        record();
        new MutationObserver(record).observe(document.body, {
          subtree: true,
          childList: true,
          attributes: true,
          attributeFilter: ['data-state']
        });
      },
      { name, key }
    );
    return () => this.page.evaluate(key => (window as any)[key], key);
  }

  /** The machine's id (for REST clean-up). */
  async machineId(name: string): Promise<string | null> {
    return this.machine(name).getAttribute('data-machine-id');
  }

  /** The machine's state, or null when it is not listed. */
  async state(name: string): Promise<string | null> {
    const row = this.machine(name);
    if ((await row.count()) === 0) {
      return null;
    }
    // The row can vanish between the count and the read (terminated): no wait.
    return row.getAttribute('data-state', { timeout: 1000 }).catch(() => null);
  }

  /**
   * Open the panel, launch a machine named `name` and wait until it is ready;
   * its id (for `terminateById` in a `finally`).
   */
  async launchReady(
    name: string,
    options: ILaunchOptions = {}
  ): Promise<string | null> {
    await this.openPanel();
    await this.launch(name, options);
    const id = await this.machineId(name);
    await this.waitForState(name, 'ready', 120_000);
    return id;
  }

  /**
   * Wait until the machine is in `state`; fail at once (with the machine's
   * message) if it fails instead.
   */
  async waitForState(
    name: string,
    state: MachineState,
    timeout = 120_000
  ): Promise<void> {
    await expect
      .poll(
        async () => {
          const current = await this.state(name);
          if (current === 'failed' && state !== 'failed') {
            const message = await this.machine(name).innerText();
            throw new Error(`Machine ${name} failed: ${message}`);
          }
          return current;
        },
        { timeout, intervals: [250, 500, 1000] }
      )
      .toBe(state);
  }

  /** Wait until the ready machine's row shows this tunnel state. */
  async waitForConnection(
    name: string,
    tunnel: TunnelState,
    timeout = 60_000
  ): Promise<void> {
    await expect(this.connection(name)).toHaveAttribute(
      'data-connection',
      tunnel,
      { timeout }
    );
  }

  async stop(name: string): Promise<void> {
    await this.machine(name).locator('[data-testid="cloudlab-stop"]').click();
  }

  async start(name: string): Promise<void> {
    await this.machine(name).locator('[data-testid="cloudlab-start"]').click();
  }

  /** Reboot, confirming the dialog (its kernels end). */
  async reboot(name: string): Promise<void> {
    await this.machine(name).locator('[data-testid="cloudlab-reboot"]').click();
    const dialog = this.page.locator('.jp-Dialog');
    await expect(dialog).toBeVisible();
    await dialog.locator('.jp-mod-accept').click();
    await expect(dialog).toHaveCount(0);
  }

  /** Terminate, confirming the dialog. */
  async terminate(name: string): Promise<void> {
    await this.machine(name)
      .locator('[data-testid="cloudlab-terminate"]')
      .click();
    const dialog = this.page.locator('.jp-Dialog');
    await expect(dialog).toBeVisible();
    await dialog.locator('.jp-mod-accept').click();
    await expect(dialog).toHaveCount(0);
  }

  /** Open a new launcher tab. */
  async openLauncher(): Promise<void> {
    await this.page.evaluate(async () => {
      await (window as any).jupyterapp.commands.execute('launcher:create');
    });
    await expect(this.launcher).toHaveCount(1);
  }

  /** Terminate through the REST API, ignoring errors (test clean-up). */
  async terminateById(id: string | null): Promise<void> {
    if (!id) {
      return;
    }
    await this.page.request
      .delete(`cloudlab/api/machines/${encodeURIComponent(id)}`)
      .catch(() => undefined);
  }
}

/** Screenshots for the docs are taken when this is set (else the tree stays clean). */
export const SCREENSHOTS = !!process.env.CLOUDLAB_SCREENSHOTS;

/**
 * Screenshots for the docs, in JupyterLab's light and dark themes:
 * `../docs/<name>-light.png` and `../docs/<name>-dark.png` (with
 * CLOUDLAB_SCREENSHOTS=1 only).
 */
export async function screenshotBothThemes(
  page: IJupyterLabPageFixture,
  name: string,
  clip?: { x: number; y: number; width: number; height: number }
): Promise<void> {
  if (!SCREENSHOTS) {
    return;
  }
  for (const [theme, suffix] of [
    ['JupyterLab Light', 'light'],
    ['JupyterLab Dark', 'dark']
  ]) {
    await page.evaluate(async (id: string) => {
      await (window as any).jupyterapp.commands.execute(
        'apputils:change-theme',
        { theme: id }
      );
    }, theme);
    await page.waitForFunction(
      (id: string) =>
        document.body.dataset.jpThemeName === id &&
        document.body.dataset.jpThemeLight === String(id.endsWith('Light')),
      theme
    );
    // A theme change shows JupyterLab's splash while the new styles load.
    await page.waitForSelector('#jupyterlab-splash', { state: 'detached' });
    await page.screenshot({ path: `../docs/${name}-${suffix}.png`, clip });
  }
}
