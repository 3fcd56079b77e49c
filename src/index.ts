import {
  machineFilesPlugin,
  machineTerminalPlugin,
  meterStatusPlugin,
  panelPlugin
} from './plugins';

export * from './tokens';

export default [
  panelPlugin,
  machineFilesPlugin,
  machineTerminalPlugin,
  meterStatusPlugin
];
