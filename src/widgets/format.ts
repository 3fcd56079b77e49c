import { TranslationBundle } from '@jupyterlab/translation';

import {
  IImage,
  IInstanceType,
  IMachine,
  MachineState,
  TunnelState
} from '../tokens';

/** States in which the machine runs and is billed for compute. */
const RUNNING_STATES: ReadonlyArray<MachineState> = [
  'connecting',
  'bootstrapping',
  'ready'
];

/** "12 s", "3 min 4 s", "2 h 5 min", "3 d 2 h". */
export function formatElapsed(ms: number, trans: TranslationBundle): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days > 0) {
    return trans.__('%1 d %2 h', days, hours);
  }
  if (hours > 0) {
    return trans.__('%1 h %2 min', hours, minutes);
  }
  if (minutes > 0) {
    return trans.__('%1 min %2 s', minutes, seconds);
  }
  return trans.__('%1 s', seconds);
}

/** Milliseconds since an ISO date, or null when it does not parse. */
export function elapsedSince(iso: string, now: number): number | null {
  const then = Date.parse(iso);
  return Number.isNaN(then) ? null : now - then;
}

/** "$1.006/h", or '' when unknown. */
export function formatPrice(
  price: number | null | undefined,
  trans: TranslationBundle
): string {
  if (typeof price !== 'number' || !Number.isFinite(price)) {
    return '';
  }
  // Four decimals below $1, more for tiny amounts (the sandbox's spot prices), never "$0".
  const digits =
    price >= 1
      ? 3
      : Math.min(10, Math.max(4, 1 - Math.floor(Math.log10(price || 1))));
  const shown = price.toFixed(digits).replace(/0+$/, '').replace(/\.$/, '');
  return trans.__('$%1/h', shown);
}

/** Memory as AWS lists it (22888 MiB) reads better whole: "22 GiB". */
function roundGib(gib: number): number {
  return gib >= 1 ? Math.round(gib) : Math.round(gib * 10) / 10;
}

/** "g5.xlarge · 4 vCPU · 16 GiB · 1× A10G 22 GiB · $1.006/h" */
export function instanceTypeLabel(
  type: IInstanceType,
  trans: TranslationBundle
): string {
  const parts = [
    type.name,
    trans.__('%1 vCPU', type.vcpus),
    trans.__('%1 GiB', roundGib(type.memory_gib))
  ];
  if (type.gpu && type.gpu.count > 0) {
    parts.push(
      trans.__(
        '%1× %2 %3 GiB',
        type.gpu.count,
        type.gpu.model,
        roundGib(type.gpu.memory_gib)
      )
    );
  } else {
    parts.push(trans.__('CPU'));
  }
  const price = formatPrice(type.price_per_hour, trans);
  if (price) {
    const note = priceSourceNote(type.price_source, trans);
    parts.push(note ? trans.__('%1 (%2)', price, note) : price);
  }
  const spot = formatPrice(type.spot_price_per_hour, trans);
  if (spot) {
    parts.push(trans.__('spot %1', spot));
  }
  return parts.join(' · ');
}

/**
 * '' for prices from the AWS Pricing API (or of unknown source); "2026-11
 * list price" for the dated snapshot shipped with the package.
 */
export function priceSourceNote(
  source: string | undefined,
  trans: TranslationBundle
): string {
  if (!source || source === 'api') {
    return '';
  }
  const month = /\((\d{4}-\d{2})\)/.exec(source);
  return month ? trans.__('%1 list price', month[1]) : trans.__('list price');
}

/** "≈ $0.42 so far" ("≈ $0.002 so far" under ten cents), or ''. */
export function formatCost(
  cost: number | null,
  trans: TranslationBundle
): string {
  if (cost === null || !Number.isFinite(cost)) {
    return '';
  }
  return trans.__('≈ $%1 so far', cost.toFixed(cost < 0.1 ? 3 : 2));
}

/** The translated name of a tunnel state, as a ready machine shows it. */
export function connectionLabel(
  tunnel: TunnelState,
  trans: TranslationBundle
): string {
  switch (tunnel) {
    case 'up':
      return trans._p('tunnel state', 'connected');
    case 'down':
      return trans._p('tunnel state', 'reconnecting…');
    case 'gone':
      return trans._p('tunnel state', 'unreachable');
    case 'refused':
      return trans._p('tunnel state', 'host key refused');
    case 'detached':
      return trans._p('tunnel state', 'not connected');
    default:
      return String(tunnel);
  }
}

export function imageLabel(image: IImage): string {
  return image.name || image.id;
}

/** The translated name of a machine state. */
export function stateLabel(
  state: MachineState,
  trans: TranslationBundle
): string {
  switch (state) {
    case 'requesting':
      return trans._p('machine state', 'requesting');
    case 'pending':
      return trans._p('machine state', 'pending');
    case 'connecting':
      return trans._p('machine state', 'connecting');
    case 'bootstrapping':
      return trans._p('machine state', 'bootstrapping');
    case 'ready':
      return trans._p('machine state', 'ready');
    case 'stopping':
      return trans._p('machine state', 'stopping');
    case 'stopped':
      return trans._p('machine state', 'stopped');
    case 'starting':
      return trans._p('machine state', 'starting');
    case 'rebooting':
      return trans._p('machine state', 'rebooting');
    case 'terminating':
      return trans._p('machine state', 'terminating');
    case 'terminated':
      return trans._p('machine state', 'terminated');
    case 'failed':
      return trans._p('machine state', 'failed');
    default:
      return String(state);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The machine's $/h while it runs (compute, EBS, IPv4), else its compute price. */
export function formatHourly(
  machine: IMachine,
  trans: TranslationBundle
): string {
  return formatPrice(machine.hourly_cost ?? machine.price_per_hour, trans);
}

/** "≈ $0.42 so far" from the meter (EC2's times, since launch), or ''. */
export function formatSpent(
  machine: IMachine,
  trans: TranslationBundle
): string {
  const spent = machine.spent_usd;
  return typeof spent === 'number' ? formatCost(spent, trans) : '';
}

/** "disk $8.00/month" for a stopped machine (its EBS bills on), or ''. */
export function formatStoppedCost(
  machine: IMachine,
  trans: TranslationBundle
): string {
  const monthly = machine.stopped_cost_per_month;
  if (machine.state !== 'stopped' || typeof monthly !== 'number') {
    return '';
  }
  return trans.__('disk $%1/month', monthly.toFixed(2));
}

/** What the status bar sums: running machines, their $/h, today's spend. */
export interface IMeterTotals {
  running: number;
  perHour: number;
  today: number;
}

export function meterTotals(machines: ReadonlyArray<IMachine>): IMeterTotals {
  let running = 0;
  let perHour = 0;
  let today = 0;
  for (const machine of machines) {
    if (RUNNING_STATES.includes(machine.state)) {
      running += 1;
      perHour += machine.hourly_cost ?? machine.price_per_hour ?? 0;
    }
    today += machine.spent_today_usd ?? 0;
  }
  return { running, perHour, today };
}

/** "2 running · $2.03/h · today ≈ $4.12" */
export function formatMeterTotals(
  totals: IMeterTotals,
  trans: TranslationBundle
): string {
  const today = totals.today.toFixed(totals.today < 0.1 ? 3 : 2);
  return trans.__(
    '%1 running · %2 · today ≈ $%3',
    totals.running,
    formatPrice(totals.perHour, trans) || trans.__('$0/h'),
    today
  );
}
