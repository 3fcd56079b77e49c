import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { budgetLeft, idleCountdown, plannedGuard } from '../guardText';
import { IGuardChange, IMachine } from '../tokens';

/**
 * A ready machine's idle stop and budget: the countdown, what is left of the
 * budget, and the two numbers, editable (sent when the field is left or
 * Enter is pressed). The machine enforces them itself. On its way to ready,
 * what it will get (its launch's choice), read only.
 */
export function GuardLine(props: {
  machine: IMachine;
  now: number;
  trans: TranslationBundle;
  onGuard: (machine: IMachine, change: IGuardChange) => void;
}): JSX.Element | null {
  const { machine, now, trans, onGuard } = props;
  if (machine.state !== 'ready') {
    const planned = plannedGuard(machine, trans);
    return planned ? (
      <div className="jp-CloudLab-guard" data-testid="cloudlab-guard-planned">
        {planned}
      </div>
    ) : null;
  }
  const countdown = idleCountdown(machine, now, trans);
  const budget = budgetLeft(machine, now, trans);
  const send = (key: 'idle_minutes' | 'budget_usd', text: string) => {
    const value = Number(text);
    const known =
      key === 'idle_minutes' ? machine.idle_minutes : machine.budget_usd;
    if (
      text.trim() !== '' &&
      Number.isFinite(value) &&
      value >= 0 &&
      value !== (known ?? null)
    ) {
      onGuard(machine, {
        [key]: key === 'idle_minutes' ? Math.round(value) : value
      });
    }
  };
  const field = (
    key: 'idle_minutes' | 'budget_usd',
    label: string,
    value: number | null | undefined
  ) => (
    <input
      key={`${key}:${value ?? ''}`}
      type="number"
      min={0}
      step={key === 'idle_minutes' ? 1 : 0.5}
      className="jp-CloudLab-guardInput"
      data-testid={`cloudlab-${key.replace('_', '-')}`}
      aria-label={label}
      title={label}
      defaultValue={value ?? ''}
      onBlur={event => send(key, event.currentTarget.value)}
      onKeyDown={event => {
        if (event.key === 'Enter') {
          send(key, event.currentTarget.value);
        }
      }}
    />
  );
  return (
    <div className="jp-CloudLab-guard" data-testid="cloudlab-guard">
      {countdown ? (
        <span data-testid="cloudlab-idle-countdown">{countdown}</span>
      ) : null}
      {budget ? (
        <span data-testid="cloudlab-budget-left">
          {countdown ? ' · ' : ''}
          {budget}
        </span>
      ) : null}
      <label>
        {' '}
        {trans.__('Idle stop (min)')}{' '}
        {field(
          'idle_minutes',
          trans.__('Minutes idle before %1 stops (0: never)', machine.name),
          machine.idle_minutes
        )}
      </label>
      <label>
        {' '}
        {trans.__('Budget ($)')}{' '}
        {field(
          'budget_usd',
          trans.__(
            'Stop %1 once it has spent this many dollars (0: none)',
            machine.name
          ),
          machine.budget_usd
        )}
      </label>
    </div>
  );
}
