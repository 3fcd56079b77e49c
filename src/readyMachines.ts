import { IDisposable } from '@lumino/disposable';

import { ICloudLabModel, IMachine } from './tokens';

/**
 * Keeps one disposable thing (a file browser, a launcher card, …) per ready
 * machine: made when the machine becomes ready, disposed when it leaves ready,
 * all disposed with the follower.
 */
export class ReadyMachineFollower<
  T extends IDisposable
> implements IDisposable {
  constructor(options: ReadyMachineFollower.IOptions<T>) {
    this._model = options.model;
    this._create = options.create;
    this._version = options.remakeOnChangeOf ?? (() => '');
    this._onLeave = options.onLeave;
    // `changed` comes at once (renames included); `readyMachinesChanged` once
    // the machines' kernelspecs are refreshed.
    this._model.readyMachinesChanged.connect(this._sync, this);
    this._model.changed.connect(this._sync, this);
    this._sync();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The thing made for a machine while it is ready. */
  get(machineId: string): T | undefined {
    return this._followed.get(machineId)?.item;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.readyMachinesChanged.disconnect(this._sync, this);
    this._model.changed.disconnect(this._sync, this);
    this._followed.forEach(({ item }) => item.dispose());
    this._followed.clear();
  }

  private _sync(): void {
    if (this._isDisposed) {
      return;
    }
    const ready = new Map(this._model.readyMachines.map(m => [m.id, m]));
    for (const [id, { item, version }] of [...this._followed]) {
      const machine = ready.get(id);
      if (!machine || this._version(machine) !== version) {
        this._followed.delete(id);
        item.dispose();
        if (!machine) {
          this._onLeave?.(id);
        }
      }
    }
    for (const machine of ready.values()) {
      if (!this._followed.has(machine.id)) {
        const item = this._create(machine);
        this._followed.set(machine.id, {
          item,
          version: this._version(machine)
        });
      }
    }
  }

  private _model: ICloudLabModel;
  private _create: (machine: IMachine) => T;
  private _version: (machine: IMachine) => string;
  private _onLeave?: (machineId: string) => void;
  private _followed = new Map<string, { item: T; version: string }>();
  private _isDisposed = false;
}

export namespace ReadyMachineFollower {
  export interface IOptions<T extends IDisposable> {
    model: ICloudLabModel;
    /** Make the thing for a machine that became ready. */
    create: (machine: IMachine) => T;
    /**
     * What the thing shows of its machine (e.g. its name): when it changes,
     * the thing is disposed and made again. Nothing by default.
     */
    remakeOnChangeOf?: (machine: IMachine) => string;
    /** Called after a machine that left ready had its thing disposed. */
    onLeave?: (machineId: string) => void;
  }
}
