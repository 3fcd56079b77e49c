import { Signal } from '@lumino/signaling';

import { KeyedNotifications, Notices } from '../notices';

// What reaches JupyterLab's notifications (the real module is ESM Jest skips).
const calls: Array<{ call: string; id?: string; message?: string }> = [];
let lastId = 0;
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    emit: (message: string) => {
      const id = `n-${++lastId}`;
      calls.push({ call: 'emit', id, message });
      return id;
    },
    update: (args: { id: string; message: string }) => {
      calls.push({ call: 'update', id: args.id, message: args.message });
      return true;
    },
    dismiss: (id: string) => {
      calls.push({ call: 'dismiss', id });
    }
  }
}));

beforeEach(() => {
  calls.length = 0;
});

describe('KeyedNotifications', () => {
  it('shows one notification per key, then updates it', () => {
    const open = new KeyedNotifications();

    open.show('m-1', 'starting', 'in-progress', { autoClose: false });
    open.show('m-1', 'half way', 'in-progress', { autoClose: false });
    open.show('m-2', 'starting', 'in-progress', { autoClose: false });

    expect(calls).toEqual([
      { call: 'emit', id: 'n-1', message: 'starting' },
      { call: 'update', id: 'n-1', message: 'half way' },
      { call: 'emit', id: 'n-2', message: 'starting' }
    ]);
    expect(open.message('m-1')).toBe('half way');
    expect(open.keys()).toEqual(['m-1', 'm-2']);
  });

  it('updates a finished notification a last time, then forgets it', () => {
    const open = new KeyedNotifications();
    open.show('m-1', 'starting', 'in-progress', { autoClose: false });
    const id = calls[0].id;

    open.finish('m-1', 'ready', 'success', { autoClose: 3000 });
    open.finish('m-1', 'ready again', 'success', { autoClose: 3000 });

    expect(calls.slice(1)).toEqual([{ call: 'update', id, message: 'ready' }]);
    expect(open.has('m-1')).toBe(false);
  });

  it('dismisses a key’s notification once, and nothing for a key without one', () => {
    const open = new KeyedNotifications();
    open.show('m-1', 'starting', 'in-progress', { autoClose: false });
    const id = calls[0].id;

    open.dismiss('m-1');
    open.dismiss('m-1');
    open.dismiss('m-2');

    expect(calls.slice(1)).toEqual([{ call: 'dismiss', id }]);
    expect(open.message('m-1')).toBeUndefined();
  });
});

describe('Notices', () => {
  class Counting extends Notices {
    heard = 0;
    constructor(signals: Signal<unknown, void>[]) {
      super();
      signals.forEach(s => s.connect(() => this.heard++, this));
    }
  }

  it('disconnects every slot it connected when disposed', () => {
    const a = new Signal<unknown, void>({});
    const b = new Signal<unknown, void>({});
    const notices = new Counting([a, b]);
    a.emit();
    b.emit();

    notices.dispose();
    a.emit();
    b.emit();

    expect(notices.heard).toBe(2);
    expect(notices.isDisposed).toBe(true);
  });
});
