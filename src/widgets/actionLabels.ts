import { TranslationBundle } from '@jupyterlab/translation';

import { MachineAction } from '../tokens';

/**
 * The action buttons, in the order a row shows them. Which of them a row shows
 * comes from the server (`IMachine.actions`).
 */
export const ACTION_BUTTONS: ReadonlyArray<{
  action: MachineAction;
  className?: string;
}> = [
  { action: 'retry' },
  { action: 'stop' },
  { action: 'reboot' },
  { action: 'start' },
  { action: 'resize' },
  { action: 'image' },
  { action: 'dismiss' },
  { action: 'terminate', className: 'jp-CloudLab-terminate' }
];

/** A button's text. */
export function actionText(
  action: MachineAction,
  trans: TranslationBundle
): string {
  switch (action) {
    case 'stop':
      return trans.__('Stop');
    case 'reboot':
      return trans.__('Reboot');
    case 'start':
      return trans.__('Start');
    case 'terminate':
      return trans.__('Terminate');
    case 'retry':
      return trans.__('Retry');
    case 'resize':
      return trans.__('Resize');
    case 'image':
      return trans.__('Save image');
    case 'dismiss':
      return trans.__('Dismiss');
  }
}

/** A button's accessible name, which names its machine. */
export function actionLabel(
  action: MachineAction,
  name: string,
  trans: TranslationBundle
): string {
  switch (action) {
    case 'stop':
      return trans.__('Stop %1', name);
    case 'reboot':
      return trans.__('Reboot %1', name);
    case 'start':
      return trans.__('Start %1', name);
    case 'terminate':
      return trans.__('Terminate %1', name);
    case 'retry':
      return trans.__('Connect to %1 and bootstrap it again', name);
    case 'resize':
      return trans.__('Change the instance type of %1', name);
    case 'image':
      return trans.__('Save %1 as an image', name);
    case 'dismiss':
      return trans.__('Remove the row of %1', name);
  }
}
