import { Signal } from '@lumino/signaling';

import { GuardNotices } from '../guardNotices';
import { ICloudLabModel, IMachine } from '../tokens';
import { machine, trans } from './fakes';

// The notifications JupyterLab would show (the real module is ESM Jest skips).
const shown: Array<{ kind: string; message: string }> = [];
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    warning: (message: string) => {
      shown.push({ kind: 'warning', message });
      return 'w';
    },
    error: (message: string) => {
      shown.push({ kind: 'error', message });
      return 'e';
    },
    dismiss: () => undefined
  }
}));

describe('GuardNotices', () => {
  it('tells a spot interruption notice once, naming the machine', () => {
    const changed = new Signal<unknown, void>({});
    const model = {
      machines: [] as IMachine[],
      changed
    } as unknown as ICloudLabModel;
    const notices = new GuardNotices(model, {} as any, trans);
    const idle = {
      idle_since: null,
      stops_at: null,
      keep_until: null,
      stop_after_cell: false,
      busy: ['a cell runs'],
      warning: null,
      spot_notice: 'stop at 10:02 UTC'
    };
    (model as any).machines = [
      machine('m-1', 'ready', { name: 'spot-box', idle })
    ];

    changed.emit();
    changed.emit();

    expect(shown).toEqual([
      {
        kind: 'error',
        message:
          'spot-box: AWS is reclaiming this spot machine (stop at 10:02 UTC). Save your work now.'
      }
    ]);
    notices.dispose();
  });
});
