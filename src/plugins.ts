import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { terminalIcon } from '@jupyterlab/ui-components';

import { CloudLabAPI } from './api';
import { addCommands } from './commands';
import { addLifecycleCommands } from './lifecycleCommands';
import { StopNotices } from './stopNotices';
import { LaunchNotices } from './launchNotices';
import { MachineLogView } from './logView';
import { ILaunchDefaults } from './defaults';
import { MachineDrives } from './drives';
import { addMeterStatus } from './statusBar';
import { CloudLabModel } from './model';
import { MachineTerminalCards } from './terminalCards';
import { MachineTerminals } from './terminals';
import {
  CommandIDs,
  ICloudLabModel,
  PLUGIN_ID,
  TRANSLATION_DOMAIN
} from './tokens';
import { CloudLabPanel } from './widgets/panel';
import { WorkspaceNotices } from './workspaceNotices';
import { GuardNotices } from './guardNotices';

/**
 * The model, the commands and the side panel.
 */
export const panelPlugin: JupyterFrontEndPlugin<ICloudLabModel> = {
  id: `${PLUGIN_ID}:plugin`,
  description: 'Launch cloud machines and list them in a side panel.',
  autoStart: true,
  provides: ICloudLabModel,
  optional: [ITranslator, ISettingRegistry, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): ICloudLabModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const { serviceManager } = app;

    const api = new CloudLabAPI({
      serverSettings: serviceManager.serverSettings
    });
    const model = new CloudLabModel({
      api,
      kernelspecs: serviceManager.kernelspecs,
      events: serviceManager.events
    });

    const defaults: ILaunchDefaults = {
      instanceType: '',
      imageId: '',
      diskGib: 100
    };
    addCommands(app.commands, model, trans, () => defaults);
    new WorkspaceNotices(serviceManager.events, trans); // lives as long as the page
    new GuardNotices(model, app.commands, trans); // idle-stop warnings, as long as the page
    addLifecycleCommands(
      app.commands,
      model,
      trans,
      serviceManager.serverSettings
    );
    new StopNotices(model, trans); // lives as long as the page
    new LaunchNotices({ model, commands: app.commands, trans }); // as long as the page

    const logs = new WidgetTracker<MachineLogView>({
      namespace: 'jupyter-cloudlab-log'
    });
    app.commands.addCommand(CommandIDs.showLog, {
      label: args => {
        const machine = model.findMachine(String(args.id ?? ''));
        return machine
          ? trans.__('Show the Server Log of %1', machine.name)
          : trans.__("Show a Machine's Server Log");
      },
      caption: trans.__("The last lines of the machine server's log"),
      execute: args => {
        const machine = model.findMachine(String(args.id ?? ''));
        if (!machine) {
          throw new Error(trans.__('No machine with id "%1".', args.id ?? ''));
        }
        const open = logs.find(view => view.id.endsWith(machine.id));
        if (open) {
          app.shell.activateById(open.id);
          return open.refresh();
        }
        const view = new MachineLogView({
          machine,
          read: (id, lines) => api.getLog(id, lines),
          trans
        });
        void logs.add(view);
        app.shell.add(view, 'main');
        return view;
      }
    });

    const panel = new CloudLabPanel({
      model,
      commands: app.commands,
      trans,
      defaults: () => defaults
    });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open the CloudLab Panel'),
      execute: () => app.shell.activateById(panel.id)
    });

    if (palette) {
      const category = trans.__('CloudLab');
      for (const command of [
        CommandIDs.open,
        CommandIDs.launch,
        CommandIDs.refresh,
        CommandIDs.keepAlive,
        CommandIDs.stopAfterCell,
        CommandIDs.setBudget,
        CommandIDs.setIdleLimit
      ]) {
        palette.addItem({ command, category });
      }
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        const get = <T>(key: string, fallback: T): T =>
          (settings.get(key).composite as T | undefined) ?? fallback;
        defaults.instanceType = get('defaultInstanceType', '');
        defaults.imageId = get('defaultImageId', '');
        defaults.diskGib = get('defaultDiskGib', 100);
        model.pollInterval = get('pollIntervalSeconds', 15) * 1000;
        void model.chooseAccount({
          profile: get('awsProfile', '') || null,
          region: get('awsRegion', '') || null
        });
        panel.update();
      };
      settingRegistry
        .load(panelPlugin.id)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error('CloudLab: failed to load the settings.', reason);
        });
    }

    return model;
  }
};

/**
 * Each ready machine's files as a drive, with a file browser in the left area.
 */
export const machineFilesPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_ID}:machine-files`,
  description:
    "Shows each ready machine's files in a JupyterLab file browser of its own.",
  autoStart: true,
  requires: [ICloudLabModel, IFileBrowserFactory],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ICloudLabModel,
    factory: IFileBrowserFactory,
    translator: ITranslator | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load(TRANSLATION_DOMAIN);
    const drives = new MachineDrives({
      app,
      model,
      factory,
      translator,
      trans
    });
    app.commands.addCommand(CommandIDs.openFiles, {
      label: trans.__("Show the Machine's Files"),
      isEnabled: args => !!model.findMachine(String(args.machineId)),
      execute: args => drives.show(String(args.machineId))
    });
  }
};

/**
 * Terminals on ready machines, from the panel's rows and the launcher.
 */
export const machineTerminalPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_ID}:machine-terminal`,
  description: "Opens JupyterLab's terminal on a ready machine.",
  autoStart: true,
  requires: [ICloudLabModel],
  optional: [ILauncher, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ICloudLabModel,
    launcher: ILauncher | null,
    translator: ITranslator | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load(TRANSLATION_DOMAIN);
    if (launcher) {
      new MachineTerminalCards({ model, launcher });
    }
    const terminals = new MachineTerminals({ app, model, translator, trans });
    app.commands.addCommand(CommandIDs.openTerminal, {
      label: args => {
        const machine = model.findMachine(String(args.machineId ?? ''));
        return machine
          ? trans.__('Terminal · %1', machine.name)
          : trans.__('Machine Terminal');
      },
      caption: trans.__('A shell on the machine'),
      icon: terminalIcon,
      isEnabled: args =>
        model.findMachine(String(args.machineId ?? ''))?.state === 'ready',
      execute: args => terminals.open(String(args.machineId))
    });
  }
};

/**
 * The meter in the status bar: running machines, their $/h, today's total.
 */
export const meterStatusPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_ID}:meter-status`,
  description: 'Shows what the machines cost in the status bar.',
  autoStart: true,
  requires: [ICloudLabModel, IStatusBar],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ICloudLabModel,
    statusBar: IStatusBar,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    addMeterStatus(statusBar, model, app.commands, trans);
  }
};
