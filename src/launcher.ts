import { ILauncher } from '@jupyterlab/launcher';
import { KernelSpec } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { ICloudLabModel, IMachine } from './tokens';

/** The command that opens a new notebook with a given kernel. */
const CREATE_NOTEBOOK = 'notebook:create-new';

/** Rank of the machine sections: after "Notebook" (0), before "Console" (20). */
const CATEGORY_RANK = 10;

/** The launcher category of a machine: its kernels' and its terminal's cards. */
export function machineCategory(
  machine: IMachine,
  trans: TranslationBundle
): string {
  return trans.__('CloudLab · %1', machine.name);
}

/**
 * Keeps one launcher section per ready machine, with one card per kernelspec
 * of that machine; removes the section when the machine leaves ready.
 */
export class MachineLauncherItems implements IDisposable {
  constructor(options: MachineLauncherItems.IOptions) {
    this._model = options.model;
    this._launcher = options.launcher;
    this._kernelspecs = options.kernelspecs;
    this._trans = options.trans;
    this._model.readyMachinesChanged.connect(this._sync, this);
    this._model.changed.connect(this._sync, this);
    this._kernelspecs.specsChanged.connect(this._sync, this);
    this._sync();
  }

  /** The launcher category of a machine. */
  category(machine: IMachine): string {
    return machineCategory(machine, this._trans);
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
    this._kernelspecs.specsChanged.disconnect(this._sync, this);
    for (const section of this._sections.values()) {
      section.items.forEach(item => item.dispose());
    }
    this._sections.clear();
  }

  private _sync(): void {
    if (this._isDisposed) {
      return;
    }
    const specs = this._kernelspecs.specs?.kernelspecs ?? {};
    const wanted = new Map<string, { key: string; machine: IMachine }>();
    for (const machine of this._model.readyMachines) {
      // Only kernelspecs the server lists: their display names label the cards.
      const names = machine.kernelspecs.filter(name => !!specs[name]);
      if (names.length === 0) {
        continue;
      }
      wanted.set(machine.id, {
        key: `${machine.name}\n${names.join('\n')}`,
        machine
      });
    }

    for (const [id, section] of [...this._sections]) {
      const next = wanted.get(id);
      if (!next || next.key !== section.key) {
        section.items.forEach(item => item.dispose());
        this._sections.delete(id);
      }
    }

    for (const [id, { key, machine }] of wanted) {
      if (this._sections.has(id)) {
        continue;
      }
      const category = this.category(machine);
      const items = machine.kernelspecs
        .filter(name => !!specs[name])
        .map((kernelName, rank) =>
          this._launcher.add({
            command: CREATE_NOTEBOOK,
            args: { isLauncher: true, kernelName },
            category,
            categoryRank: CATEGORY_RANK,
            rank,
            kernelIconUrl: Private.logo(specs[kernelName])
          })
        );
      this._sections.set(id, { key, items });
    }
  }

  private _model: ICloudLabModel;
  private _launcher: ILauncher;
  private _kernelspecs: KernelSpec.IManager;
  private _trans: TranslationBundle;
  private _sections = new Map<string, { key: string; items: IDisposable[] }>();
  private _isDisposed = false;
}

export namespace MachineLauncherItems {
  export interface IOptions {
    model: ICloudLabModel;
    launcher: ILauncher;
    kernelspecs: KernelSpec.IManager;
    trans: TranslationBundle;
  }
}

namespace Private {
  export function logo(
    spec: KernelSpec.ISpecModel | undefined
  ): string | undefined {
    const resources = spec?.resources ?? {};
    return resources['logo-svg'] || resources['logo-64x64'] || undefined;
  }
}
