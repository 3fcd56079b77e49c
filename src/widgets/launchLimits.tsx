import { TranslationBundle } from '@jupyterlab/translation';
import { InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IStatus } from '../tokens';

/** The longest idle limit a machine takes (a week), as the server checks it. */
export const MAX_IDLE_MINUTES = 10080;

/** What was typed in the two fields; null: left alone (the default shows). */
export interface ILaunchLimitTexts {
  idle: string | null;
  budget: string | null;
}

/** A field's number: undefined when left alone or emptied (the server's default). */
export interface IParsedLimit {
  value?: number;
  valid: boolean;
}

/** Whole minutes from 0 (never) to a week. */
export function parseIdleMinutes(text: string | null): IParsedLimit {
  const typed = (text ?? '').trim();
  if (typed === '') {
    return { valid: true };
  }
  const minutes = Number(typed);
  const valid = /^\d+$/.test(typed) && minutes <= MAX_IDLE_MINUTES;
  return valid ? { value: minutes, valid } : { valid };
}

/** Dollars from 0 (no budget). */
export function parseBudget(text: string | null): IParsedLimit {
  const typed = (text ?? '').trim();
  if (typed === '') {
    return { valid: true };
  }
  const usd = Number(typed);
  const valid = Number.isFinite(usd) && usd >= 0;
  return valid ? { value: usd, valid } : { valid };
}

/**
 * The launch form's idle stop and budget, side by side (the panel is narrow),
 * prefilled with the server's defaults; what is left alone is not sent, so
 * the server's defaults apply.
 */
export function LaunchLimitFields(props: {
  status: IStatus | null;
  texts: ILaunchLimitTexts;
  onChange: (texts: ILaunchLimitTexts) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { status, texts, onChange, trans } = props;
  const shown = (typed: string | null, fallback: number | undefined) =>
    typed ?? (fallback === undefined ? '' : String(fallback));
  return (
    <div className="jp-CloudLab-row">
      <label
        className="jp-CloudLab-field jp-CloudLab-limit"
        title={trans.__(
          'Minutes without a cell, terminal input, transfer or GPU use before the machine stops itself (0 = never)'
        )}
      >
        <span>{trans.__('Idle stop (min)')}</span>
        <InputGroup
          data-testid="cloudlab-launch-idle-minutes"
          type="number"
          min={0}
          max={MAX_IDLE_MINUTES}
          step={1}
          value={shown(texts.idle, status?.default_idle_minutes)}
          aria-invalid={!parseIdleMinutes(texts.idle).valid}
          onChange={e => onChange({ ...texts, idle: e.currentTarget.value })}
        />
      </label>
      <label
        className="jp-CloudLab-field jp-CloudLab-limit"
        title={trans.__(
          'The machine stops itself once it has spent this many dollars since launch, even if busy (0 = none)'
        )}
      >
        <span>{trans.__('Budget ($)')}</span>
        <InputGroup
          data-testid="cloudlab-launch-budget-usd"
          type="number"
          min={0}
          step={0.5}
          value={shown(texts.budget, status?.default_budget_usd)}
          aria-invalid={!parseBudget(texts.budget).valid}
          onChange={e => onChange({ ...texts, budget: e.currentTarget.value })}
        />
      </label>
    </div>
  );
}
