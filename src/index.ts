import {
  launcherPlugin,
  machineFilesPlugin,
  machineTerminalPlugin,
  panelPlugin
} from './plugins';

export * from './tokens';

export default [
  panelPlugin,
  launcherPlugin,
  machineFilesPlugin,
  machineTerminalPlugin
];
