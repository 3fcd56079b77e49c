import {
  formatHourly,
  formatMeterTotals,
  formatSpent,
  formatStoppedCost,
  meterTotals
} from '../widgets/format';
import { IMachine } from '../tokens';

/** Only what the meter's helpers read (the full fake lives in fakes.ts). */
function machine(fields: Partial<IMachine>): IMachine {
  return { state: 'ready', ...fields } as IMachine;
}

const trans = {
  __: (text: string, ...args: unknown[]): string =>
    args.reduce<string>(
      (out, arg, index) => out.replace(`%${index + 1}`, String(arg)),
      text
    )
} as any;

describe('meter figures', () => {
  const running = machine({
    id: 'm-1',
    state: 'ready',
    price_per_hour: 1.006,
    hourly_cost: 1.022,
    spent_usd: 0.4213,
    spent_today_usd: 0.3,
    stopped_cost_per_month: 8
  });
  const stopped = machine({
    id: 'm-2',
    state: 'stopped',
    price_per_hour: 0.0416,
    hourly_cost: 0.0576,
    spent_usd: 1.5,
    spent_today_usd: 0.05,
    stopped_cost_per_month: 8
  });

  it('shows a row its running rate, what it spent, and a stopped disk per month', () => {
    expect(formatHourly(running, trans)).toBe('$1.022/h');
    expect(formatSpent(running, trans)).toBe('≈ $0.42 so far');
    expect(formatStoppedCost(running, trans)).toBe('');
    expect(formatStoppedCost(stopped, trans)).toBe('disk $8.00/month');
    expect(formatSpent(machine({ spent_usd: null }), trans)).toBe('');
  });

  it('sums the running machines per hour and every machine today', () => {
    const totals = meterTotals([running, stopped]);
    expect(totals.running).toBe(1);
    expect(totals.perHour).toBeCloseTo(1.022);
    expect(totals.today).toBeCloseTo(0.35);
    expect(formatMeterTotals(totals, trans)).toBe(
      '1 running · $1.022/h · today ≈ $0.35'
    );
  });
});
