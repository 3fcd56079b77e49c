import { defaultKernel, launchNotice } from '../launchText';
import { stateChanges } from '../widgets/announcements';
import { machine, trans } from './fakes';

describe('launchNotice', () => {
  it('says the phase, then the bootstrap step while there is one', () => {
    expect(
      launchNotice(machine('m-1', 'pending', { name: 'box' }), trans)
    ).toEqual({ message: 'box: pending…', type: 'in-progress' });
    const step = 'Installing and starting the machine server';
    expect(
      launchNotice(
        machine('m-1', 'bootstrapping', { name: 'box', message: step }),
        trans
      )
    ).toEqual({ message: `box: ${step}…`, type: 'in-progress' });
  });

  it('says ready with the kernels found, or failed with the reason', () => {
    const ready = machine('m-1', 'ready', {
      name: 'box',
      message: '2 kernels found'
    });
    expect(launchNotice(ready, trans)).toEqual({
      message: 'box is ready (2 kernels found).',
      type: 'success'
    });
    const failed = machine('m-1', 'failed', {
      name: 'box',
      message: 'No SSH.'
    });
    expect(launchNotice(failed, trans)?.type).toBe('error');
    expect(launchNotice(machine('m-1', 'stopped'), trans)).toBeNull();
  });

  it("opens notebooks with the machine's first kernel", () => {
    expect(defaultKernel(machine('m-1', 'ready'))).toBe('cloudlab.m-1.python3');
    expect(defaultKernel(machine('m-1', 'pending'))).toBeNull();
  });
});

describe('stateChanges', () => {
  it('announces nothing at first, then each machine whose state changed', () => {
    const first = stateChanges(null, [
      machine('m-1', 'pending', { name: 'a' })
    ]);
    expect(first.changes).toEqual([]);
    const second = stateChanges(first.next, [
      machine('m-1', 'ready', { name: 'a' }),
      machine('m-2', 'requesting', { name: 'b' })
    ]);
    expect(second.changes).toEqual([
      { name: 'a', state: 'ready' },
      { name: 'b', state: 'requesting' }
    ]);
  });
});
