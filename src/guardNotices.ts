import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { clockTime, keepAliveUntil } from './guardText';
import { KeyedNotifications, Notices } from './notices';
import { CommandIDs, ICloudLabModel } from './tokens';

/**
 * A notification when a machine's guard warns that it stops within 5
 * minutes (`machine.idle.warning`, read from machine events through the
 * model), with "Keep running until HH:MM" and "Stop when this cell
 * finishes"; dismissed once the warning is gone. And an error notification,
 * once per notice, when EC2 gives a spot machine its interruption notice
 * (`machine.idle.spot_notice`; the machine also writes it into busy cells).
 */
export class GuardNotices extends Notices {
  constructor(
    private readonly _model: ICloudLabModel,
    private readonly _commands: CommandRegistry,
    private readonly _trans: TranslationBundle,
    private readonly _now: () => number = Date.now
  ) {
    super();
    _model.changed.connect(this._onChanged, this);
  }

  private _onChanged(): void {
    this._tellSpotNotices();
    const warned = new Set<string>();
    for (const machine of this._model.machines) {
      const warning = machine.state === 'ready' ? machine.idle?.warning : null;
      if (!warning) {
        continue;
      }
      warned.add(machine.id);
      const message = `${machine.name}: ${warning}`;
      if (this._warnings.message(machine.id) === message) {
        continue;
      }
      // A new warning is a new notification, with a fresh "until" time.
      this._warnings.dismiss(machine.id);
      const until = keepAliveUntil(this._now());
      this._warnings.show(machine.id, message, 'warning', {
        autoClose: false,
        actions: [
          {
            label: this._trans.__('Keep running until %1', clockTime(until)),
            callback: () =>
              void this._commands.execute(CommandIDs.keepAlive, {
                id: machine.id,
                until: until.toISOString()
              })
          },
          {
            label: this._trans.__('Stop when this cell finishes'),
            callback: () =>
              void this._commands.execute(CommandIDs.stopAfterCell, {
                id: machine.id
              })
          }
        ]
      });
    }
    for (const machineId of this._warnings.keys()) {
      if (!warned.has(machineId)) {
        this._warnings.dismiss(machineId);
      }
    }
  }

  private _tellSpotNotices(): void {
    for (const machine of this._model.machines) {
      const notice = machine.idle?.spot_notice;
      if (!notice || this._spotTold.get(machine.id) === notice) {
        continue;
      }
      this._spotTold.set(machine.id, notice);
      Notification.error(
        this._trans.__(
          '%1: AWS is reclaiming this spot machine (%2). Save your work now.',
          machine.name,
          notice
        ),
        { autoClose: false }
      );
    }
  }

  private readonly _spotTold = new Map<string, string>();
  private readonly _warnings = new KeyedNotifications();
}
