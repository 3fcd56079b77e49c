import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { requestAPI } from './request';
import {
  CommandIDs,
  ICloudLabModel,
  IImage,
  IImageRequest,
  IMachine,
  IResizeRequest,
  MachineAction
} from './tokens';
import { ImageBody } from './widgets/imageDialog';
import { ResizeBody } from './widgets/resizeDialog';
import { resizeChoices } from './widgets/resizeChoices';

/**
 * Commands for a machine's lifecycle beyond stop/start: retry a failed machine
 * that runs, resize or save as an image a stopped one, dismiss the row of one
 * terminated from outside. Enabled as the server's `actions` say.
 */
export function addLifecycleCommands(
  commands: CommandRegistry,
  model: ICloudLabModel,
  trans: TranslationBundle,
  settings: ServerConnection.ISettings
): void {
  const machineOf = (args: ReadonlyPartialJSONObject): IMachine => {
    const machine = model.findMachine(String(args.id ?? ''));
    if (!machine) {
      throw new Error(trans.__('No machine with id "%1".', String(args.id)));
    }
    return machine;
  };
  const allows =
    (action: MachineAction) =>
    (args: ReadonlyPartialJSONObject): boolean =>
      args.id === undefined ||
      (model.findMachine(String(args.id))?.actions.includes(action) ?? false);
  const post = async <T>(machine: IMachine, verb: string, body: unknown) => {
    const path = `machines/${encodeURIComponent(machine.id)}/${verb}`;
    const init = { method: 'POST', body: JSON.stringify(body ?? {}) };
    const reply = await requestAPI<T>(path, init, settings);
    await model.refresh();
    return reply;
  };

  commands.addCommand(CommandIDs.retry, {
    label: trans.__('Retry Machine'),
    caption: trans.__(
      'Connect to the failed machine and bootstrap it again (it runs, and is billed)'
    ),
    isEnabled: allows('retry'),
    execute: args => post<IMachine>(machineOf(args), 'retry', {})
  });

  commands.addCommand(CommandIDs.resize, {
    label: trans.__('Change Instance Type'),
    caption: trans.__('Change the instance type of a stopped machine'),
    isEnabled: allows('resize'),
    execute: async args => {
      const machine = machineOf(args);
      const choices = resizeChoices(model.instanceTypes, machine);
      const current = model.instanceTypes.find(
        t => t.name === machine.instance_type
      );
      const result = await showDialog({
        title: trans.__('Change the instance type of %1', machine.name),
        body: new ResizeBody(
          machine,
          choices,
          current?.price_per_hour ?? machine.price_per_hour,
          trans
        ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.okButton({ label: trans.__('Change type') })
        ]
      });
      if (!result.button.accept || !result.value) {
        return undefined;
      }
      const request: IResizeRequest = { instance_type: result.value };
      return post<IMachine>(machine, 'resize', request);
    }
  });

  commands.addCommand(CommandIDs.saveImage, {
    label: trans.__('Save Machine as Image'),
    caption: trans.__(
      "Save a stopped machine's disk as an image to launch new machines from"
    ),
    isEnabled: allows('image'),
    execute: async args => {
      const machine = machineOf(args);
      const result = await showDialog<IImageRequest>({
        title: trans.__('Save %1 as an image', machine.name),
        body: new ImageBody(machine, trans),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.okButton({ label: trans.__('Save image') })
        ]
      });
      if (!result.button.accept || !result.value) {
        return undefined;
      }
      const image = await post<IImage>(machine, 'image', result.value);
      Notification.success(
        trans.__(
          'Saving %1 as the image %2 (%3): it is offered at launch once AWS has saved it; keeping it costs about %4 a month.',
          machine.name,
          image.name,
          image.id,
          `$${(image.storage_usd_per_month ?? 0).toFixed(2)}`
        ),
        { autoClose: 8000 }
      );
      return image;
    }
  });

  commands.addCommand(CommandIDs.dismiss, {
    label: trans.__('Dismiss Terminated Machine'),
    caption: trans.__('Remove the row of a machine terminated from outside'),
    isEnabled: allows('dismiss'),
    execute: args => post(machineOf(args), 'dismiss', {})
  });
}
