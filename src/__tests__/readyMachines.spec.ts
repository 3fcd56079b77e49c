import { Signal } from '@lumino/signaling';

import { ReadyMachineFollower } from '../readyMachines';
import { ICloudLabModel, IMachine } from '../tokens';
import { machine } from './fakes';

/** Just enough of the model: its machines and its two signals. */
class FakeModel {
  machines: IMachine[] = [];
  changed = new Signal<this, void>(this);
  readyMachinesChanged = new Signal<this, void>(this);
  get readyMachines(): IMachine[] {
    return this.machines.filter(m => m.state === 'ready');
  }
}

/** A followed thing that remembers whether it was disposed. */
class Thing {
  constructor(readonly label: string) {}
  isDisposed = false;
  dispose(): void {
    this.isDisposed = true;
  }
}

describe('ReadyMachineFollower', () => {
  let model: FakeModel;
  let made: Thing[];
  let left: string[];
  let follower: ReadyMachineFollower<Thing>;

  beforeEach(() => {
    model = new FakeModel();
    made = [];
    left = [];
    model.machines = [machine('m-1', 'ready', { name: 'box' })];
    follower = new ReadyMachineFollower({
      model: model as unknown as ICloudLabModel,
      create: m => {
        const thing = new Thing(m.name);
        made.push(thing);
        return thing;
      },
      remakeOnChangeOf: m => m.name,
      onLeave: id => left.push(id)
    });
  });

  afterEach(() => follower.dispose());

  it('makes a thing for each machine ready when it starts, and when one becomes ready', () => {
    expect(follower.get('m-1')?.label).toBe('box');

    // When a second machine becomes ready
    model.machines = [...model.machines, machine('m-2', 'ready')];
    model.readyMachinesChanged.emit();

    // Then it has its thing, and the first keeps its own
    expect(made.map(t => t.label)).toEqual(['box', 'm-2']);
    expect(follower.get('m-2')).toBe(made[1]);
  });

  it('disposes the thing of a machine that leaves ready, and says so', () => {
    const first = follower.get('m-1')!;

    model.machines = [machine('m-1', 'stopping', { name: 'box' })];
    model.changed.emit();

    expect(first.isDisposed).toBe(true);
    expect(follower.get('m-1')).toBeUndefined();
    expect(left).toEqual(['m-1']);
  });

  it('makes the thing again when what it shows of its machine changes', () => {
    const first = follower.get('m-1')!;

    model.machines = [machine('m-1', 'ready', { name: 'renamed' })];
    model.changed.emit();

    expect(first.isDisposed).toBe(true);
    expect(follower.get('m-1')?.label).toBe('renamed');
    expect(left).toEqual([]);
  });

  it('disposes everything when disposed, and no longer follows', () => {
    const first = follower.get('m-1')!;

    follower.dispose();
    model.machines = [machine('m-2', 'ready')];
    model.changed.emit();

    expect(follower.isDisposed).toBe(true);
    expect(first.isDisposed).toBe(true);
    expect(made).toHaveLength(1);
    expect(left).toEqual([]);
  });
});
