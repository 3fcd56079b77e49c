import { ILauncher } from '@jupyterlab/launcher';
import { DisposableDelegate } from '@lumino/disposable';

import { CloudLabModel } from '../model';
import { MachineTerminalCards } from '../terminalCards';
import { CommandIDs } from '../tokens';
import { FakeAPI, FakeKernelSpecs, machine, until } from './fakes';

class FakeLauncher {
  items: ILauncher.IItemOptions[] = [];
  add(options: ILauncher.IItemOptions) {
    this.items.push(options);
    return new DisposableDelegate(() => {
      this.items = this.items.filter(item => item !== options);
    });
  }
}

describe('MachineTerminalCards', () => {
  let api: FakeAPI;
  let launcher: FakeLauncher;
  let model: CloudLabModel;
  let cards: MachineTerminalCards;

  beforeEach(() => {
    api = new FakeAPI();
    const kernelspecs = new FakeKernelSpecs();
    kernelspecs.setSpecs(['cloudlab.m-1.python3', 'cloudlab.m-2.python3']);
    launcher = new FakeLauncher();
    model = new CloudLabModel({
      api,
      kernelspecs: kernelspecs as any,
      auto: false,
      standby: 'never'
    });
    cards = new MachineTerminalCards({ model, launcher: launcher as any });
  });

  afterEach(() => {
    cards.dispose();
    model.dispose();
  });

  it("adds only a terminal card per ready machine: JupyterLab's own sections list its kernels", async () => {
    // Given two ready machines, each with a kernel
    api.machines = [
      machine('m-1', 'ready', { name: 'box' }),
      machine('m-2', 'ready', { name: 'gpu' })
    ];

    // When the model loads them
    await model.refresh();
    await until(() => launcher.items.length === 2);

    // Then each has one terminal card in the "Other" section, and no kernel card
    expect(launcher.items.map(i => i.command)).toEqual([
      CommandIDs.openTerminal,
      CommandIDs.openTerminal
    ]);
    expect(launcher.items.map(i => i.args?.machineId)).toEqual(['m-1', 'm-2']);
    expect(launcher.items.every(i => !i.category)).toBe(true);
  });

  it('removes the card when the machine leaves ready', async () => {
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => launcher.items.length === 1);

    // When the machine stops
    api.machines = [machine('m-1', 'stopping')];
    await model.refresh();

    // Then its card is gone
    await until(() => launcher.items.length === 0);
  });

  it('removes everything when disposed', async () => {
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => launcher.items.length === 1);

    cards.dispose();

    expect(launcher.items).toHaveLength(0);
  });
});
