import { TranslationBundle } from '@jupyterlab/translation';

import { LAUNCH_PHASES } from './launchText';
import { IMachine } from './tokens';
import { formatElapsed } from './widgets/format';

/** How long "Keep running" holds off the idle stop. */
export const KEEP_ALIVE_MS = 60 * 60 * 1000;

/** "14:05" on this computer's clock. */
export function clockTime(iso: string | Date): string {
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The "keep running until" moment an hour from now. */
export function keepAliveUntil(now: number): Date {
  return new Date(now + KEEP_ALIVE_MS);
}

/**
 * The idle countdown of a ready machine: "stops in 4 min 10 s if idle",
 * "kept running until 15:00", or why it is busy; null when no idle stop is
 * planned or the machine's guard has not answered yet.
 */
export function idleCountdown(
  machine: IMachine,
  now: number,
  trans: TranslationBundle
): string | null {
  const idle = machine.idle;
  if (machine.state !== 'ready' || !idle) {
    return null;
  }
  if (idle.stop_after_cell) {
    return trans.__('stops when the running cell finishes');
  }
  const keepUntil = idle.keep_until ? Date.parse(idle.keep_until) : NaN;
  if (keepUntil > now) {
    return trans.__('kept running until %1', clockTime(idle.keep_until!));
  }
  if (idle.busy.length > 0) {
    return trans.__('busy: %1', idle.busy.join(', '));
  }
  if (!idle.stops_at || machine.stop_at === idle.stops_at) {
    return null; // no idle stop (its budget's deadline is shown apart)
  }
  const left = Date.parse(idle.stops_at) - now;
  return trans.__('stops in %1 if idle', formatElapsed(left, trans));
}

/**
 * What is left of a budget: "$1.20 left · 1 h 10 min"; null without a
 * budget.
 */
export function budgetLeft(
  machine: IMachine,
  now: number,
  trans: TranslationBundle
): string | null {
  if (!machine.budget_usd) {
    return null;
  }
  const money = Math.max(0, machine.budget_usd - (machine.spent_usd ?? 0));
  const dollars = `$${money.toFixed(2)}`;
  if (!machine.stop_at || machine.state !== 'ready') {
    return trans.__('%1 left of $%2', dollars, machine.budget_usd.toFixed(2));
  }
  const time = formatElapsed(Date.parse(machine.stop_at) - now, trans);
  return trans.__('%1 left · %2', dollars, time);
}

/**
 * The idle stop and budget a machine on its way to ready will get: "idle
 * stop after 7 min · budget $2.50"; null once ready (the row edits them) or
 * when nothing is known.
 */
export function plannedGuard(
  machine: IMachine,
  trans: TranslationBundle
): string | null {
  if (!LAUNCH_PHASES.includes(machine.state)) {
    return null;
  }
  const parts: string[] = [];
  if (machine.idle_minutes === 0) {
    parts.push(trans.__('no idle stop'));
  } else if (typeof machine.idle_minutes === 'number') {
    parts.push(trans.__('idle stop after %1 min', machine.idle_minutes));
  }
  if (machine.budget_usd) {
    parts.push(trans.__('budget $%1', machine.budget_usd.toFixed(2)));
  }
  return parts.length > 0 ? parts.join(' · ') : null;
}
