import { MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, textEditorIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IMachine, IMachineLog } from './tokens';

/** How many of the log's last lines a tab shows (the server bounds it too). */
export const LOG_LINES = 500;

/** Reads a machine's log (CloudLabAPI.getLog). */
export type LogReader = (id: string, lines: number) => Promise<IMachineLog>;

/**
 * A machine's server log in a main-area tab: the last lines as plain text
 * (never HTML: the machine may be compromised), a Refresh button, and the
 * error's sentence in place of the text when it cannot be read.
 */
export class MachineLogView extends MainAreaWidget<Widget> {
  constructor(options: MachineLogView.IOptions) {
    const content = new Widget({ node: document.createElement('pre') });
    content.addClass('jp-CloudLab-log');
    content.node.tabIndex = 0; // scrollable from the keyboard
    content.node.setAttribute(
      'aria-label',
      options.trans.__('Server log of %1', options.machine.name)
    );
    super({ content });
    this._read = options.read;
    this._machineId = options.machine.id;
    this._trans = options.trans;
    this.id = `jupyter-cloudlab-log-${options.machine.id}`;
    this.title.label = options.trans.__('Log · %1', options.machine.name);
    this.title.icon = textEditorIcon;
    this.title.closable = true;
    this.node.dataset.testid = 'cloudlab-log';
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        label: options.trans.__('Refresh'),
        tooltip: options.trans.__('Read the log again'),
        onClick: () => void this.refresh()
      })
    );
    void this.refresh();
  }

  /** Read the log again; resolves once the text (or the error) is shown. */
  async refresh(): Promise<void> {
    const pre = this.content.node;
    pre.setAttribute('aria-busy', 'true');
    try {
      const log = await this._read(this._machineId, LOG_LINES);
      pre.textContent = log.text || this._trans.__('(The log is empty.)');
      pre.classList.remove('jp-CloudLab-logError');
      pre.scrollTop = pre.scrollHeight; // the newest lines first in view
    } catch (error) {
      pre.textContent = error instanceof Error ? error.message : String(error);
      pre.classList.add('jp-CloudLab-logError');
    } finally {
      pre.removeAttribute('aria-busy');
    }
  }

  private _read: LogReader;
  private _machineId: string;
  private _trans: TranslationBundle;
}

export namespace MachineLogView {
  export interface IOptions {
    machine: IMachine;
    read: LogReader;
    trans: TranslationBundle;
  }
}
