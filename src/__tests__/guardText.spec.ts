import {
  budgetLeft,
  clockTime,
  idleCountdown,
  plannedGuard
} from '../guardText';
import { FakeAPI, machine, trans } from './fakes';
import { CloudLabModel } from '../model';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const idle = {
  idle_since: '2026-12-01T11:50:00Z',
  stops_at: '2026-12-01T12:04:10Z',
  keep_until: null,
  stop_after_cell: false,
  busy: [],
  warning: null,
  spot_notice: null
};

describe('guard text', () => {
  it('counts down to an idle stop', () => {
    const box = machine('m-1', 'ready', { idle, idle_minutes: 30 });
    expect(idleCountdown(box, NOW, trans)).toBe('stops in 4 min 10 s if idle');
  });

  it('says what holds the idle stop off, or nothing when none is planned', () => {
    const kept = machine('m-1', 'ready', {
      idle: { ...idle, keep_until: '2026-12-01T13:00:00Z' }
    });
    expect(idleCountdown(kept, NOW, trans)).toBe(
      `kept running until ${clockTime('2026-12-01T13:00:00Z')}`
    );
    const busy = machine('m-1', 'ready', {
      idle: { ...idle, busy: ['a cell runs'], stops_at: null }
    });
    expect(idleCountdown(busy, NOW, trans)).toBe('busy: a cell runs');
    const off = machine('m-1', 'ready', { idle: { ...idle, stops_at: null } });
    expect(idleCountdown(off, NOW, trans)).toBeNull();
    expect(
      idleCountdown(machine('m-1', 'stopped', { idle }), NOW, trans)
    ).toBeNull();
  });

  it("shows a launching machine's idle stop and budget before it is ready", () => {
    const launching = machine('m-1', 'bootstrapping', {
      idle_minutes: 7,
      budget_usd: 2.5
    });
    expect(plannedGuard(launching, trans)).toBe(
      'idle stop after 7 min · budget $2.50'
    );
    const never = machine('m-1', 'pending', { idle_minutes: 0, budget_usd: 0 });
    expect(plannedGuard(never, trans)).toBe('no idle stop');
    expect(plannedGuard(machine('m-1', 'requesting'), trans)).toBeNull();
    // Once ready the row's own fields show them
    const ready = machine('m-1', 'ready', { idle_minutes: 7 });
    expect(plannedGuard(ready, trans)).toBeNull();
  });

  it('shows money and time left of a budget', () => {
    const box = machine('m-1', 'ready', {
      budget_usd: 5,
      spent_usd: 3.8,
      stop_at: '2026-12-01T13:10:00Z'
    });
    expect(budgetLeft(box, NOW, trans)).toBe('$1.20 left · 1 h 10 min');
    const spent = machine('m-1', 'stopped', { budget_usd: 5, spent_usd: 6 });
    expect(budgetLeft(spent, NOW, trans)).toBe('$0.00 left of $5.00');
    expect(budgetLeft(machine('m-1', 'ready'), NOW, trans)).toBeNull();
  });

  it('sends a guard change through the model', async () => {
    const api = new FakeAPI();
    api.machines = [machine('m-1', 'ready')];
    const model = new CloudLabModel({ api, auto: false });
    const changed = await model.changeGuard('m-1', { idle_minutes: 1 });
    expect(api.guardChanges).toEqual([
      { id: 'm-1', change: { idle_minutes: 1 } }
    ]);
    expect(changed.idle_minutes).toBe(1);
    model.dispose();
  });
});
