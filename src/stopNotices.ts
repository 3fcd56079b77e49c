import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { Notices } from './notices';
import { newStopNotices } from './stopReasons';
import { ICloudLabModel } from './tokens';

/**
 * Says it, as a JupyterLab notification, when a machine stops or is
 * terminated by something other than our buttons (its idle limit, its budget,
 * a spot interruption, the AWS console) while JupyterLab is open.
 */
export class StopNotices extends Notices {
  constructor(
    private readonly _model: ICloudLabModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    _model.changed.connect(this._onChanged, this);
  }

  private _onChanged(): void {
    if (!this._model.loaded) {
      return;
    }
    const firstLook = !this._looked;
    this._looked = true;
    for (const { machine, reason } of newStopNotices(
      this._seen,
      this._model.machines,
      firstLook
    )) {
      const message = this._trans.__('%1: %2', machine.name, reason);
      Notification.warning(message, { autoClose: false });
    }
  }

  private _looked = false;
  private _seen = new Map<string, string | null>();
}
