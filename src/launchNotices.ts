import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { IDisposable } from '@lumino/disposable';

import { defaultKernel, LAUNCH_PHASES, launchNotice } from './launchText';
import { ICloudLabModel, IMachine } from './tokens';

const NOTEBOOK_CREATE = 'notebook:create-new';
const SUCCESS_CLOSE_MS = 10_000;

/**
 * JupyterLab notifications for what happens outside the panel's view: one
 * updating notification per launch or start (its phases and bootstrap steps,
 * "Open notebook" once ready), an error for any CloudLab command that fails
 * (from the panel, the palette or a notification), a load or settings error,
 * and a ready machine's tunnel lost and back.
 */
export class LaunchNotices implements IDisposable {
  constructor(options: LaunchNotices.IOptions) {
    this._model = options.model;
    this._commands = options.commands;
    this._trans = options.trans;
    this._model.changed.connect(this._onChanged, this);
    this._commands.commandExecuted.connect(this._onExecuted, this);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (!this._disposed) {
      this._disposed = true;
      this._model.changed.disconnect(this._onChanged, this);
      this._commands.commandExecuted.disconnect(this._onExecuted, this);
    }
  }

  private _onExecuted(
    _: CommandRegistry,
    executed: CommandRegistry.ICommandExecutedArgs
  ): void {
    if (!executed.id.startsWith('jupyter-cloudlab:')) {
      return;
    }
    executed.result.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      Notification.error(message, { autoClose: false });
    });
  }

  private _onChanged(): void {
    if (!this._model.loaded) {
      return;
    }
    this._noticeLoadError();
    const firstLook = !this._looked;
    this._looked = true;
    for (const machine of this._model.machines) {
      this._noticeLaunch(machine, firstLook);
      this._noticeTunnel(machine);
    }
  }

  private _noticeLoadError(): void {
    const error = this._model.loadError;
    if (error && error !== this._loadError) {
      Notification.error(this._trans.__('CloudLab: %1', error), {
        autoClose: false
      });
    }
    this._loadError = error;
  }

  private _noticeLaunch(machine: IMachine, firstLook: boolean): void {
    const id = this._launches.get(machine.id);
    const notice = launchNotice(machine, this._trans);
    const launching = LAUNCH_PHASES.includes(machine.state);
    if (id === undefined) {
      // Only launches seen under way: a page opened on ready machines is quiet.
      if (launching && notice && !(firstLook && machine.state === 'ready')) {
        this._launches.set(
          machine.id,
          Notification.emit(notice.message, notice.type, { autoClose: false })
        );
        this._shown.set(machine.id, notice.message);
      }
      return;
    }
    if (!notice) {
      Notification.dismiss(id); // stopped or terminated meanwhile
      this._launches.delete(machine.id);
      return;
    }
    if (this._shown.get(machine.id) === notice.message) {
      return;
    }
    this._shown.set(machine.id, notice.message);
    const kernelName = defaultKernel(machine);
    Notification.update({
      id,
      message: notice.message,
      type: notice.type,
      autoClose: notice.type === 'success' ? SUCCESS_CLOSE_MS : false,
      actions:
        notice.type === 'success' && kernelName
          ? [
              {
                label: this._trans.__('Open notebook'),
                caption: this._trans.__(
                  'A new notebook with a kernel on %1',
                  machine.name
                ),
                displayType: 'accent',
                callback: () =>
                  void this._commands.execute(NOTEBOOK_CREATE, { kernelName })
              }
            ]
          : []
    });
    if (notice.type !== 'in-progress') {
      this._launches.delete(machine.id);
    }
  }

  private _noticeTunnel(machine: IMachine): void {
    const tunnel =
      machine.state === 'ready'
        ? this._model.connection(machine.id)?.tunnel
        : undefined;
    const before = this._tunnels.get(machine.id);
    this._tunnels.set(machine.id, tunnel);
    if (before === 'up' && tunnel === 'down') {
      this._lost.set(
        machine.id,
        Notification.warning(
          this._trans.__(
            'The link to %1 dropped; reconnecting. Its kernels keep running.',
            machine.name
          ),
          { autoClose: false }
        )
      );
    } else if (tunnel === 'up' && this._lost.has(machine.id)) {
      Notification.update({
        id: this._lost.get(machine.id)!,
        message: this._trans.__('The link to %1 is back.', machine.name),
        type: 'success',
        autoClose: SUCCESS_CLOSE_MS
      });
      this._lost.delete(machine.id);
    }
  }

  private _model: ICloudLabModel;
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _disposed = false;
  private _looked = false;
  private _loadError: string | null = null;
  /** machine id -> its launch notification's id, while under way. */
  private _launches = new Map<string, string>();
  private _shown = new Map<string, string>();
  private _tunnels = new Map<string, string | undefined>();
  private _lost = new Map<string, string>();
}

export namespace LaunchNotices {
  export interface IOptions {
    model: ICloudLabModel;
    commands: CommandRegistry;
    trans: TranslationBundle;
  }
}
