import { TranslationBundle } from '@jupyterlab/translation';

import { IMachine, MachineState } from './tokens';

/** The states of a launch (or a start) in their order, before ready. */
export const LAUNCH_PHASES: ReadonlyArray<MachineState> = [
  'requesting',
  'pending',
  'starting',
  'connecting',
  'bootstrapping'
];

/** What one launch's notification says now. */
export interface ILaunchNotice {
  message: string;
  type: 'in-progress' | 'success' | 'error';
}

/** The notice of a machine on its way to ready (null: not launching). */
export function launchNotice(
  machine: IMachine,
  trans: TranslationBundle
): ILaunchNotice | null {
  const phase = LAUNCH_PHASES.indexOf(machine.state);
  if (phase >= 0) {
    const step =
      machine.message &&
      (machine.state === 'connecting' || machine.state === 'bootstrapping')
        ? machine.message
        : machine.state;
    return {
      message: trans.__('%1: %2…', machine.name, step),
      type: 'in-progress'
    };
  }
  if (machine.state === 'ready') {
    return {
      message: machine.message
        ? trans.__('%1 is ready (%2).', machine.name, machine.message)
        : trans.__('%1 is ready.', machine.name),
      type: 'success'
    };
  }
  if (machine.state === 'failed') {
    return {
      message: trans.__(
        '%1 failed: %2',
        machine.name,
        machine.message ?? trans.__('see its row in the CloudLab panel')
      ),
      type: 'error'
    };
  }
  return null;
}

/** The kernel a new notebook on the machine gets: its first one. */
export function defaultKernel(machine: IMachine): string | null {
  return machine.kernelspecs[0] ?? null;
}
