import { ILauncher } from '@jupyterlab/launcher';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { machineCategory } from './launcher';
import { CommandIDs, ICloudLabModel } from './tokens';

/** Rank of the machine sections, as the kernel cards' (launcher.ts). */
const CATEGORY_RANK = 10;
/** The terminal card comes after the machine's kernels. */
const TERMINAL_RANK = 1000;

/**
 * A "Terminal · <machine>" launcher card per ready machine, in the machine's
 * launcher section; removed when the machine leaves ready.
 */
export class MachineTerminalCards implements IDisposable {
  constructor(options: MachineTerminalCards.IOptions) {
    this._model = options.model;
    this._launcher = options.launcher;
    this._trans = options.trans;
    this._model.readyMachinesChanged.connect(this._sync, this);
    this._model.changed.connect(this._sync, this);
    this._sync();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.readyMachinesChanged.disconnect(this._sync, this);
    this._model.changed.disconnect(this._sync, this);
    this._cards.forEach(card => card.item.dispose());
    this._cards.clear();
  }

  private _sync(): void {
    if (this._isDisposed) {
      return;
    }
    const ready = new Map(this._model.readyMachines.map(m => [m.id, m]));
    for (const [id, card] of [...this._cards]) {
      if (ready.get(id)?.name !== card.name) {
        card.item.dispose();
        this._cards.delete(id);
      }
    }
    for (const machine of ready.values()) {
      if (this._cards.has(machine.id)) {
        continue;
      }
      const item = this._launcher.add({
        command: CommandIDs.openTerminal,
        args: { isLauncher: true, machineId: machine.id },
        category: machineCategory(machine, this._trans),
        categoryRank: CATEGORY_RANK,
        rank: TERMINAL_RANK
      });
      this._cards.set(machine.id, { name: machine.name, item });
    }
  }

  private _model: ICloudLabModel;
  private _launcher: ILauncher;
  private _trans: TranslationBundle;
  private _cards = new Map<string, { name: string; item: IDisposable }>();
  private _isDisposed = false;
}

export namespace MachineTerminalCards {
  export interface IOptions {
    model: ICloudLabModel;
    launcher: ILauncher;
    trans: TranslationBundle;
  }
}
