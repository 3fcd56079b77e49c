import { ILauncher } from '@jupyterlab/launcher';
import { DisposableDelegate } from '@lumino/disposable';

import { MachineLauncherItems } from '../launcher';
import { CloudLabModel } from '../model';
import { FakeAPI, FakeKernelSpecs, machine, trans, until } from './fakes';

class FakeLauncher {
  items: ILauncher.IItemOptions[] = [];
  add(options: ILauncher.IItemOptions) {
    this.items.push(options);
    return new DisposableDelegate(() => {
      this.items = this.items.filter(item => item !== options);
    });
  }
}

describe('MachineLauncherItems', () => {
  let api: FakeAPI;
  let kernelspecs: FakeKernelSpecs;
  let launcher: FakeLauncher;
  let model: CloudLabModel;
  let items: MachineLauncherItems;

  beforeEach(() => {
    api = new FakeAPI();
    kernelspecs = new FakeKernelSpecs();
    launcher = new FakeLauncher();
    model = new CloudLabModel({
      api,
      kernelspecs: kernelspecs as any,
      auto: false,
      standby: 'never'
    });
    items = new MachineLauncherItems({
      model,
      launcher: launcher as any,
      kernelspecs: kernelspecs as any,
      trans
    });
  });

  afterEach(() => {
    items.dispose();
    model.dispose();
  });

  it("adds a section with the machine's kernels when it is ready", async () => {
    // Given a ready machine with two kernels the server lists
    const specs = ['cloudlab.m-1.python3', 'cloudlab.m-1.torch'];
    kernelspecs.setSpecs(specs);
    api.machines = [
      machine('m-1', 'ready', { name: 'box', kernelspecs: specs })
    ];

    // When the model loads it
    await model.refresh();
    await until(() => launcher.items.length === 2);

    // Then each kernel has a card in the machine's section
    expect(launcher.items.map(i => i.category)).toEqual([
      'CloudLab · box',
      'CloudLab · box'
    ]);
    expect(launcher.items.map(i => i.command)).toEqual([
      'notebook:create-new',
      'notebook:create-new'
    ]);
    expect(launcher.items.map(i => i.args?.kernelName)).toEqual(specs);
  });

  it('waits for the kernelspecs before adding cards', async () => {
    // Given a ready machine whose kernelspec the server does not list yet
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => model.loaded);
    expect(launcher.items).toHaveLength(0);

    // When the kernelspecs arrive
    kernelspecs.setSpecs(['cloudlab.m-1.python3']);

    // Then the card appears
    expect(launcher.items).toHaveLength(1);
  });

  it('removes the section when the machine leaves ready', async () => {
    kernelspecs.setSpecs(['cloudlab.m-1.python3']);
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => launcher.items.length === 1);

    // When the machine stops
    api.machines = [machine('m-1', 'stopping')];
    await model.refresh();

    // Then its cards are gone
    await until(() => launcher.items.length === 0);
  });

  it('removes everything when disposed', async () => {
    kernelspecs.setSpecs(['cloudlab.m-1.python3']);
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => launcher.items.length === 1);

    items.dispose();

    expect(launcher.items).toHaveLength(0);
  });
});
