/**
 * The meter in JupyterLab's status bar: how many machines run, what they cost
 * per hour together, and what all machines cost since midnight. It follows
 * the model (the panel's events and its poll: no polling of its own) and a
 * click opens the CloudLab panel.
 */
import { IStatusBar } from '@jupyterlab/statusbar';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { CommandIDs, ICloudLabModel } from './tokens';
import { formatMeterTotals, meterTotals } from './widgets/format';

export const METER_STATUS_ID = 'jupyter-cloudlab:meter';

class MeterStatus extends ReactWidget {
  constructor(
    private readonly _model: ICloudLabModel,
    private readonly _commands: CommandRegistry,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-CloudLab-meterStatus');
    this.node.dataset.testid = 'cloudlab-meter-status';
    this.node.title = _trans.__(
      'CloudLab: running machines, their cost per hour, and what all machines cost today. Click to open the panel.'
    );
    _model.changed.connect(this.update, this);
  }

  dispose(): void {
    this._model.changed.disconnect(this.update, this);
    super.dispose();
  }

  render(): JSX.Element {
    const totals = meterTotals(this._model.machines);
    return (
      <span
        role="button"
        tabIndex={0}
        onClick={() => void this._commands.execute(CommandIDs.open)}
        onKeyDown={event => {
          if (event.key === 'Enter' || event.key === ' ') {
            void this._commands.execute(CommandIDs.open);
          }
        }}
      >
        {formatMeterTotals(totals, this._trans)}
      </span>
    );
  }
}

/** Add the meter to the status bar (left side, beside the kernel status). */
export function addMeterStatus(
  statusBar: IStatusBar,
  model: ICloudLabModel,
  commands: CommandRegistry,
  trans: TranslationBundle
): void {
  const item = new MeterStatus(model, commands, trans);
  statusBar.registerStatusItem(METER_STATUS_ID, {
    item,
    align: 'left',
    rank: 900,
    isActive: () => model.machines.length > 0,
    activeStateChanged: model.changed
  });
}
