import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { cloudIcon } from './icons';
import { ILaunchDefaults, launchRequest } from './defaults';
import { CommandIDs, ICloudLabModel, IMachine, MachineAction } from './tokens';

/**
 * Add the CloudLab commands. They throw on API errors (the panel shows them).
 */
export function addCommands(
  commands: CommandRegistry,
  model: ICloudLabModel,
  trans: TranslationBundle,
  defaults: () => ILaunchDefaults
): void {
  const machineOf = (args: ReadonlyPartialJSONObject): IMachine => {
    const id = String(args.id ?? '');
    const machine = model.findMachine(id);
    if (!machine) {
      throw new Error(trans.__('No machine with id "%1".', id));
    }
    return machine;
  };

  // Enabled when the machine allows the action now (the server says which);
  // without an id (the palette) the command stays enabled and execute reports.
  const allows =
    (action: MachineAction) =>
    (args: ReadonlyPartialJSONObject): boolean => {
      if (args.id === undefined || args.id === null) {
        return true;
      }
      const machine = model.findMachine(String(args.id));
      return machine?.actions.includes(action) ?? false;
    };

  commands.addCommand(CommandIDs.launch, {
    label: trans.__('Launch a CloudLab Machine'),
    caption: trans.__('Launch a machine with the given or default options'),
    icon: cloudIcon,
    execute: args => model.launch(launchRequest(model, args, defaults()))
  });

  commands.addCommand(CommandIDs.stop, {
    label: trans.__('Stop Machine'),
    caption: trans.__('Stop the machine: compute billing ends, the disk stays'),
    isEnabled: allows('stop'),
    execute: args => model.stop(machineOf(args).id)
  });

  commands.addCommand(CommandIDs.start, {
    label: trans.__('Start Machine'),
    caption: trans.__('Start the stopped machine and reconnect to it'),
    isEnabled: allows('start'),
    execute: args => model.start(machineOf(args).id)
  });

  commands.addCommand(CommandIDs.reboot, {
    label: trans.__('Reboot Machine'),
    caption: trans.__(
      'Reboot the machine: its kernels end, then it reconnects by itself'
    ),
    isEnabled: allows('reboot'),
    execute: async args => {
      const machine = machineOf(args);
      const result = await showDialog({
        title: trans.__('Reboot %1?', machine.name),
        body: trans.__(
          'The kernels running on %1 end and their variables are lost; notebooks stay on this computer. The machine reconnects once it is back.',
          machine.name
        ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: trans.__('Reboot') })
        ]
      });
      if (!result.button.accept) {
        return undefined;
      }
      return model.reboot(machine.id);
    }
  });

  commands.addCommand(CommandIDs.terminate, {
    label: trans.__('Terminate Machine'),
    caption: trans.__('Terminate the machine: it and its disk are deleted'),
    isEnabled: allows('terminate'),
    execute: async args => {
      const machine = machineOf(args);
      const result = await showDialog({
        title: trans.__('Terminate %1?', machine.name),
        body: trans.__(
          'The machine %1 (%2) and its disk will be deleted. Files saved only on the machine are lost.',
          machine.name,
          machine.instance_type
        ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: trans.__('Terminate') })
        ]
      });
      if (!result.button.accept) {
        return undefined;
      }
      return model.terminate(machine.id);
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh CloudLab Machines'),
    caption: trans.__('Reload the list of machines'),
    icon: refreshIcon,
    execute: () => model.refresh()
  });
}
