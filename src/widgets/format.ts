import { TranslationBundle } from '@jupyterlab/translation';

import { IImage, IInstanceType, MachineState } from '../tokens';

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
  const digits = price < 1 ? 4 : 3;
  return trans.__('$%1/h', price.toFixed(digits).replace(/0+$/, ''));
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
    parts.push(price);
  }
  return parts.join(' · ');
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
