import { launcherPlugin, panelPlugin } from './plugins';

export * from './tokens';

export default [panelPlugin, launcherPlugin];
