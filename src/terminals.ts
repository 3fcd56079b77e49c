import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { TerminalManager } from '@jupyterlab/services';
import { Terminal } from '@jupyterlab/terminal';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { terminalIcon } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';

import { machineServerSettings } from './machineServer';
import { ICloudLabModel } from './tokens';

/**
 * Terminals on ready machines: JupyterLab's own terminal widget on a
 * `TerminalManager` pointed at the machine's proxied server (terminado there).
 *
 * When the link drops, the local server writes a line saying so into the
 * terminal and closes its socket; JupyterLab's connection reconnects by itself
 * and terminado on the machine has kept the shell. A machine that is not ready
 * refuses at once with a sentence.
 */
export class MachineTerminals implements IDisposable {
  constructor(options: MachineTerminals.IOptions) {
    this._app = options.app;
    this._model = options.model;
    this._translator = options.translator;
    this._trans = options.trans;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Start a shell on the machine and show it in the main area. */
  async open(machineId: string): Promise<MainAreaWidget<Terminal>> {
    const machine = this._model.findMachine(machineId);
    if (!machine || machine.state !== 'ready') {
      throw new Error(
        this._trans.__(
          'The machine "%1" is %2: a terminal opens once it is ready.',
          machine?.name ?? machineId,
          machine?.state ?? this._trans.__('gone')
        )
      );
    }
    const session = await this._manager(machineId).startNew();
    const content = new Terminal(session, {}, this._translator);
    const widget = new MainAreaWidget({ content });
    widget.id = `jupyter-cloudlab-terminal-${machineId}-${session.name}`;
    widget.addClass('jp-CloudLab-machineTerminal');
    widget.node.dataset.machineId = machineId;
    const label = this._trans.__('Terminal · %1', machine.name);
    // The terminal names itself after the session; the machine's name says more.
    content.title.changed.connect(() => {
      if (widget.title.label !== label) {
        widget.title.label = label;
      }
    });
    widget.title.label = label;
    widget.title.icon = terminalIcon;
    widget.title.caption = this._trans.__(
      'Terminal %1 on %2',
      session.name,
      machine.name
    );
    this._app.shell.add(widget, 'main');
    this._app.shell.activateById(widget.id);
    return widget;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._managers.forEach(manager => manager.dispose());
    this._managers.clear();
  }

  private _manager(machineId: string): TerminalManager {
    let manager = this._managers.get(machineId);
    if (!manager) {
      manager = new TerminalManager({
        serverSettings: machineServerSettings(
          this._app.serviceManager.serverSettings,
          machineId
        )
      });
      this._managers.set(machineId, manager);
    }
    return manager;
  }

  private _app: JupyterFrontEnd;
  private _model: ICloudLabModel;
  private _translator: ITranslator;
  private _trans: TranslationBundle;
  private _managers = new Map<string, TerminalManager>();
  private _isDisposed = false;
}

export namespace MachineTerminals {
  export interface IOptions {
    app: JupyterFrontEnd;
    model: ICloudLabModel;
    translator: ITranslator;
    trans: TranslationBundle;
  }
}
