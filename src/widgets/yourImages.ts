import { TranslationBundle } from '@jupyterlab/translation';

import { IImage } from '../tokens';
import { imageLabel } from './format';

/**
 * An image in the picker; one saved from your machines says so, whether AWS
 * still saves it, and what keeping it costs (an estimate, with its basis).
 */
export function pickerImageLabel(
  image: IImage,
  trans: TranslationBundle
): string {
  if (!image.ours) {
    return imageLabel(image);
  }
  const parts = [trans.__('yours: %1', imageLabel(image))];
  if (image.state !== 'available') {
    parts.push(trans.__('saving…'));
  }
  if (typeof image.storage_usd_per_month === 'number') {
    parts.push(
      trans.__(
        '≈ $%1/month kept (%2)',
        image.storage_usd_per_month.toFixed(2),
        image.storage_price_note ?? trans.__('estimate')
      )
    );
  }
  return parts.join(' · ');
}
