import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * Where a machine's own jupyter server is reached: a prefix of the local
 * server that proxies its files and terminals (the server adds the machine's
 * token; the browser never sees it).
 */
export function machineServerPath(machineId: string): string {
  return URLExt.join('cloudlab', 'machines', machineId, 'server') + '/';
}

/**
 * Server settings for JupyterLab's own Drive and TerminalManager, pointed at a
 * machine: the local server's settings (token, cookies, fetch) with another
 * base URL.
 */
export function machineServerSettings(
  local: ServerConnection.ISettings,
  machineId: string
): ServerConnection.ISettings {
  const path = machineServerPath(machineId);
  return ServerConnection.makeSettings({
    ...local,
    baseUrl: URLExt.join(local.baseUrl, path),
    wsUrl: URLExt.join(local.wsUrl, path)
  });
}

/**
 * A drive name for a machine: JupyterLab reads a path's drive up to the first
 * ':', so the name may hold neither ':' nor '/'. `taken` holds the names of
 * other machines' drives: a second machine of the same name gets its id added.
 */
export function machineDriveName(
  machine: { id: string; name: string },
  taken: ReadonlySet<string> = new Set()
): string {
  const base = machine.name.replace(/[:/\\]/g, '-').trim() || machine.id;
  return taken.has(base) ? `${base}-${machine.id}` : base;
}
