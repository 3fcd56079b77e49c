import { ILauncher } from '@jupyterlab/launcher';
import { IDisposable } from '@lumino/disposable';

import { CommandIDs, ICloudLabModel } from './tokens';

/**
 * Just after JupyterLab's own "Terminal" card (rank 0 in "Other"); the
 * machines' cards then sort by their labels ("Terminal · <machine>").
 */
const TERMINAL_RANK = 1;

/**
 * A "Terminal · <machine>" launcher card per ready machine, in JupyterLab's
 * "Other" section beside its local terminal; removed when the machine leaves
 * ready.
 *
 * Machine kernels need no cards of ours: JupyterLab's Notebook and Console
 * sections list every kernelspec once, with its logo (only those two sections
 * show logos), and a machine kernel's display name ends with its machine
 * ("Python 3 · my-box · g5.xlarge", kernels/specs.py), so the notebook, the
 * console and the terminal cards all name their machine the same way.
 */
export class MachineTerminalCards implements IDisposable {
  constructor(options: MachineTerminalCards.IOptions) {
    this._model = options.model;
    this._launcher = options.launcher;
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
        rank: TERMINAL_RANK
      });
      this._cards.set(machine.id, { name: machine.name, item });
    }
  }

  private _model: ICloudLabModel;
  private _launcher: ILauncher;
  private _cards = new Map<string, { name: string; item: IDisposable }>();
  private _isDisposed = false;
}

export namespace MachineTerminalCards {
  export interface IOptions {
    model: ICloudLabModel;
    launcher: ILauncher;
  }
}
