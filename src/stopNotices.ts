import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { newStopNotices } from './stopReasons';
import { ICloudLabModel } from './tokens';

/**
 * Says it, as a JupyterLab notification, when a machine stops or is
 * terminated by something other than our buttons (its idle limit, its budget,
 * a spot interruption, the AWS console) while JupyterLab is open.
 */
export class StopNotices implements IDisposable {
  constructor(
    private readonly _model: ICloudLabModel,
    private readonly _trans: TranslationBundle
  ) {
    _model.changed.connect(this._onChanged, this);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (!this._disposed) {
      this._disposed = true;
      this._model.changed.disconnect(this._onChanged, this);
    }
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

  private _disposed = false;
  private _looked = false;
  private _seen = new Map<string, string | null>();
}
