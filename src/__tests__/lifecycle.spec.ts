import { newStopNotices } from '../stopReasons';
import { MachineAction } from '../tokens';
import {
  ACTION_BUTTONS,
  actionLabel,
  actionText
} from '../widgets/actionLabels';
import { pickerImageLabel } from '../widgets/yourImages';
import { priceChange, resizeChoices } from '../widgets/resizeChoices';
import { FakeAPI, instanceType, machine, trans } from './fakes';

const EVERY_ACTION: MachineAction[] = [
  'stop',
  'start',
  'reboot',
  'terminate',
  'retry',
  'resize',
  'image',
  'dismiss'
];

describe('lifecycle actions', () => {
  it('gives every action of the server a button, a text and a label naming the machine', () => {
    expect(ACTION_BUTTONS.map(b => b.action).sort()).toEqual(
      [...EVERY_ACTION].sort()
    );
    const texts = EVERY_ACTION.map(a => actionText(a, trans));
    expect(new Set(texts).size).toBe(EVERY_ACTION.length);
    for (const action of EVERY_ACTION) {
      expect(actionLabel(action, 'gpu-box', trans)).toContain('gpu-box');
    }
    expect(actionText('retry', trans)).toBe('Retry');
    expect(actionText('image', trans)).toBe('Save image');
  });

  it('offers resizes to types of the same architecture, cheapest first, with the price change', () => {
    const types = [
      instanceType({ name: 't3.medium', price_per_hour: 0.0416 }),
      instanceType({ name: 't3.xlarge', price_per_hour: 0.1664 }),
      instanceType({ name: 't3.large', price_per_hour: 0.0832 }),
      instanceType({
        name: 't4g.medium',
        architecture: 'arm64',
        price_per_hour: 0.0336
      })
    ];
    const stopped = machine('m-1', 'stopped', { instance_type: 't3.medium' });
    expect(resizeChoices(types, stopped).map(t => t.name)).toEqual([
      't3.large',
      't3.xlarge'
    ]);
    expect(priceChange(0.0416, 0.0832, trans)).toBe(
      '$0.0416/h → $0.0832/h (+$0.0416/h)'
    );
    expect(priceChange(0.0832, 0.0416, trans)).toBe(
      '$0.0832/h → $0.0416/h (−$0.0416/h)'
    );
    expect(priceChange(null, 0.0832, trans)).toBe('');
  });

  it('notifies a stop reason once, when it appears while JupyterLab is open', () => {
    const seen = new Map<string, string | null>();
    const earlier = machine('m-1', 'stopped', { stop_reason: 'idle, before' });
    // At the first look, a reason already there is the row's to say
    expect(newStopNotices(seen, [earlier], true)).toEqual([]);
    const running = machine('m-2', 'ready');
    expect(newStopNotices(seen, [earlier, running], false)).toEqual([]);
    // Then a new one is said once
    const stopped = machine('m-2', 'stopped', {
      stop_reason: 'Stopped from outside CloudLab.'
    });
    const notices = newStopNotices(seen, [earlier, stopped], false);
    expect(notices.map(n => [n.machine.id, n.reason])).toEqual([
      ['m-2', 'Stopped from outside CloudLab.']
    ]);
    expect(newStopNotices(seen, [earlier, stopped], false)).toEqual([]);
  });

  it('marks your images in the picker with what keeping them costs', () => {
    const [publicImage] = new FakeAPI().images;
    expect(pickerImageLabel(publicImage, trans)).toBe('Ubuntu');
    const yours = {
      ...publicImage,
      name: 'torch env',
      ours: true,
      family: 'yours',
      state: 'pending',
      storage_usd_per_month: 0.75,
      storage_price_note: 'estimate: $0.05 per GB-month (us-east-1, 2026-11)'
    };
    expect(pickerImageLabel(yours, trans)).toBe(
      'yours: torch env · saving… · ≈ $0.75/month kept (estimate: $0.05 per GB-month (us-east-1, 2026-11))'
    );
  });
});
