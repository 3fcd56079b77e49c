import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { defaultKernel, LAUNCH_PHASES, launchNotice } from './launchText';
import { KeyedNotifications, NoticeOptions, Notices } from './notices';
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
export class LaunchNotices extends Notices {
  constructor(options: LaunchNotices.IOptions) {
    super();
    this._model = options.model;
    this._commands = options.commands;
    this._trans = options.trans;
    this._model.changed.connect(this._onChanged, this);
    this._commands.commandExecuted.connect(this._onExecuted, this);
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
    const notice = launchNotice(machine, this._trans);
    const launching = LAUNCH_PHASES.includes(machine.state);
    if (!this._launches.has(machine.id)) {
      // Only launches seen under way: a page opened on ready machines is quiet.
      if (launching && notice && !(firstLook && machine.state === 'ready')) {
        this._launches.show(machine.id, notice.message, notice.type, {
          autoClose: false
        });
      }
      return;
    }
    if (!notice) {
      this._launches.dismiss(machine.id); // stopped or terminated meanwhile
      return;
    }
    if (this._launches.message(machine.id) === notice.message) {
      return;
    }
    const kernelName = defaultKernel(machine);
    const options: NoticeOptions = {
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
    };
    if (notice.type === 'in-progress') {
      this._launches.show(machine.id, notice.message, notice.type, options);
    } else {
      // Ready or failed: the last word on this launch.
      this._launches.finish(machine.id, notice.message, notice.type, options);
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
      this._lost.show(
        machine.id,
        this._trans.__(
          'The link to %1 dropped; reconnecting. Its kernels keep running.',
          machine.name
        ),
        'warning',
        { autoClose: false }
      );
    } else if (tunnel === 'up' && this._lost.has(machine.id)) {
      this._lost.finish(
        machine.id,
        this._trans.__('The link to %1 is back.', machine.name),
        'success',
        { autoClose: SUCCESS_CLOSE_MS }
      );
    }
  }

  private _model: ICloudLabModel;
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _looked = false;
  private _loadError: string | null = null;
  /** Per machine: its launch's notification, while under way. */
  private _launches = new KeyedNotifications();
  private _tunnels = new Map<string, string | undefined>();
  /** Per machine: its "link dropped" notification, until the link is back. */
  private _lost = new KeyedNotifications();
}

export namespace LaunchNotices {
  export interface IOptions {
    model: ICloudLabModel;
    commands: CommandRegistry;
    trans: TranslationBundle;
  }
}
