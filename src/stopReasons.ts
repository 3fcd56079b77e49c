import { IMachine } from './tokens';

/** A stop or termination that was not ours, newly seen. */
export interface IStopNotice {
  machine: IMachine;
  reason: string;
}

/**
 * The machines whose stop reason appeared since `seen` (machine id → reason
 * last seen), and `seen` brought up to date. A reason already there at the
 * first look is not new: it happened while JupyterLab was closed, and the row
 * says it.
 */
export function newStopNotices(
  seen: Map<string, string | null>,
  machines: ReadonlyArray<IMachine>,
  firstLook: boolean
): IStopNotice[] {
  const notices: IStopNotice[] = [];
  for (const machine of machines) {
    const reason = machine.stop_reason ?? null;
    if (!firstLook && reason && seen.get(machine.id) !== reason) {
      notices.push({ machine, reason });
    }
    seen.set(machine.id, reason);
  }
  return notices;
}
