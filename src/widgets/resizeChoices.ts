import { TranslationBundle } from '@jupyterlab/translation';

import { IInstanceType, IMachine } from '../tokens';
import { formatPrice } from './format';

/**
 * The types a stopped machine can be resized to: those of its architecture
 * (its image runs only there), not its own, cheapest first.
 */
export function resizeChoices(
  types: ReadonlyArray<IInstanceType>,
  machine: IMachine
): IInstanceType[] {
  const current = types.find(t => t.name === machine.instance_type);
  const architecture = current?.architecture;
  return types
    .filter(t => t.name !== machine.instance_type)
    .filter(t => !architecture || t.architecture === architecture)
    .sort((a, b) => (a.price_per_hour ?? 0) - (b.price_per_hour ?? 0));
}

/**
 * What the change does to the hourly price, as a sentence: "$0.0416/h →
 * $0.0832/h (+$0.0416/h)"; empty when a price is unknown.
 */
export function priceChange(
  from: number | null | undefined,
  to: number | null | undefined,
  trans: TranslationBundle
): string {
  if (typeof from !== 'number' || typeof to !== 'number') {
    return '';
  }
  const difference = to - from;
  const sign = difference >= 0 ? '+' : '−';
  return trans.__(
    '%1 → %2 (%3%4)',
    formatPrice(from, trans),
    formatPrice(to, trans),
    sign,
    formatPrice(Math.abs(difference), trans) || '$0/h'
  );
}
