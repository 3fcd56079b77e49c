import { ILauncher } from '@jupyterlab/launcher';
import { IDisposable } from '@lumino/disposable';

import { ReadyMachineFollower } from './readyMachines';
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
    this._cards = new ReadyMachineFollower({
      model: options.model,
      create: machine =>
        options.launcher.add({
          command: CommandIDs.openTerminal,
          args: { isLauncher: true, machineId: machine.id },
          rank: TERMINAL_RANK
        }),
      // A renamed machine's card is added again, under its new label.
      remakeOnChangeOf: machine => machine.name
    });
  }

  get isDisposed(): boolean {
    return this._cards.isDisposed;
  }

  dispose(): void {
    this._cards.dispose();
  }

  private _cards: ReadyMachineFollower<IDisposable>;
}

export namespace MachineTerminalCards {
  export interface IOptions {
    model: ICloudLabModel;
    launcher: ILauncher;
  }
}
