import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { cloudIcon } from './icons';
import { ILaunchDefaults, launchRequest } from './defaults';
import { clockTime, keepAliveUntil } from './guardText';
import { formatPrice } from './widgets/format';
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
    execute: async args => {
      const request = launchRequest(model, args, defaults());
      // The panel's form names the type (it is its own confirmation); the
      // palette does not, so it asks first, with the type and its price.
      if (typeof args.instance_type !== 'string') {
        const offered = model.instanceTypes.find(
          t => t.name === request.instance_type
        );
        const price = request.spot
          ? offered?.spot_price_per_hour
          : offered?.price_per_hour;
        const result = await showDialog({
          title: trans.__('Launch a %1?', request.instance_type),
          body: price
            ? trans.__(
                'A %1 machine costs %2 while it runs (its disk also while stopped).',
                request.instance_type,
                formatPrice(price, trans)
              )
            : trans.__(
                'A %1 machine (its price is not known here).',
                request.instance_type
              ),
          buttons: [
            Dialog.cancelButton({ label: trans.__('Cancel') }),
            Dialog.okButton({ label: trans.__('Launch') })
          ]
        });
        if (!result.button.accept) {
          return undefined;
        }
      }
      return model.launch(request);
    }
  });

  commands.addCommand(CommandIDs.stop, {
    label: trans.__('Stop Machine'),
    caption: trans.__('Stop the machine: compute billing ends, the disk stays'),
    isEnabled: allows('stop'),
    execute: async args => {
      const machine = machineOf(args);
      const kernels = await model.kernelCount(machine.id);
      if (kernels > 0) {
        const result = await showDialog({
          title: trans.__('Stop %1?', machine.name),
          body: trans._n(
            'The kernel running on %2 ends and its variables are lost; notebooks stay on this computer.',
            'The %1 kernels running on %2 end and their variables are lost; notebooks stay on this computer.',
            kernels,
            machine.name
          ),
          buttons: [
            Dialog.cancelButton({ label: trans.__('Cancel') }),
            Dialog.warnButton({ label: trans.__('Stop') })
          ]
        });
        if (!result.button.accept) {
          return undefined;
        }
      }
      return model.stop(machine.id);
    }
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

  commands.addCommand(CommandIDs.setMirror, {
    label: args =>
      args.mirror === false
        ? trans.__('Stop Mirroring Notebook Folders to the Machine')
        : trans.__('Mirror Notebook Folders to the Machine'),
    caption: trans.__(
      "A mirrored notebook's folder follows its machine kernel: local changes go before each cell, files the kernel writes come back"
    ),
    execute: args => model.setMirror(machineOf(args).id, args.mirror !== false)
  });

  // The guard's commands: from the row, the notification or the palette (no
  // id: the ready machine, asked for when there are several).
  const readyMachine = async (
    args: ReadonlyPartialJSONObject
  ): Promise<IMachine | null> => {
    if (args.id !== undefined && args.id !== null) {
      return machineOf(args);
    }
    const ready = model.readyMachines;
    if (ready.length <= 1) {
      if (!ready[0]) {
        throw new Error(trans.__('No machine is ready.'));
      }
      return ready[0];
    }
    const picked = await InputDialog.getItem({
      title: trans.__('Which machine?'),
      items: ready.map(m => m.name)
    });
    return ready.find(m => m.name === picked.value) ?? null;
  };
  const askNumber = async (
    args: ReadonlyPartialJSONObject,
    key: string,
    title: string,
    value: number | null | undefined
  ): Promise<number | null> => {
    if (typeof args[key] === 'number') {
      return args[key] as number;
    }
    const answer = await InputDialog.getNumber({ title, value: value ?? 0 });
    return answer.button.accept && answer.value !== null && answer.value >= 0
      ? answer.value
      : null;
  };

  commands.addCommand(CommandIDs.keepAlive, {
    label: args =>
      trans.__(
        'Keep Machine Running Until %1',
        clockTime(
          typeof args.until === 'string'
            ? args.until
            : keepAliveUntil(Date.now())
        )
      ),
    caption: trans.__('No idle stop before then (a budget still applies)'),
    execute: async args => {
      const machine = await readyMachine(args);
      const until =
        typeof args.until === 'string'
          ? args.until
          : keepAliveUntil(Date.now()).toISOString();
      return machine && model.changeGuard(machine.id, { keep_until: until });
    }
  });

  commands.addCommand(CommandIDs.stopAfterCell, {
    label: trans.__('Stop Machine When the Running Cell Finishes'),
    caption: trans.__('The machine stops itself as soon as no cell runs'),
    execute: async args => {
      const machine = await readyMachine(args);
      return (
        machine && model.changeGuard(machine.id, { stop_after_cell: true })
      );
    }
  });

  commands.addCommand(CommandIDs.setBudget, {
    label: trans.__('Set Machine Budget…'),
    caption: trans.__(
      'The machine stops itself once it has spent this many dollars since launch, even if busy (0: no budget)'
    ),
    execute: async args => {
      const machine = await readyMachine(args);
      const usd =
        machine &&
        (await askNumber(
          args,
          'usd',
          trans.__('Stop %1 at $ (since launch; 0: none)', machine.name),
          machine.budget_usd
        ));
      return machine && usd !== null
        ? model.changeGuard(machine.id, { budget_usd: usd })
        : undefined;
    }
  });

  commands.addCommand(CommandIDs.setIdleLimit, {
    label: trans.__('Set Machine Idle Limit…'),
    caption: trans.__(
      'Minutes without a cell, terminal input, transfer or GPU use before the machine stops itself (0: never)'
    ),
    execute: async args => {
      const machine = await readyMachine(args);
      const minutes =
        machine &&
        (await askNumber(
          args,
          'minutes',
          trans.__('Minutes idle before %1 stops (0: never)', machine.name),
          machine.idle_minutes
        ));
      return machine && minutes !== null
        ? model.changeGuard(machine.id, { idle_minutes: Math.round(minutes) })
        : undefined;
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh CloudLab Machines'),
    caption: trans.__('Reload the list of machines'),
    icon: refreshIcon,
    execute: () => model.refresh()
  });
}
