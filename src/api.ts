import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import {
  ICloudLabAPI,
  IAccountChoice,
  IImage,
  IInstanceType,
  ILaunchRequest,
  IMachine,
  IGuardChange,
  IMachineChange,
  IMachineConnection,
  IMachineLog,
  IStatus
} from './tokens';

/**
 * The typed REST calls of jupyter_cloudlab/openapi.yaml.
 */
export class CloudLabAPI implements ICloudLabAPI {
  constructor(options: CloudLabAPI.IOptions = {}) {
    this._settings = options.serverSettings ?? ServerConnection.makeSettings();
  }

  getStatus(): Promise<IStatus> {
    return this._get<IStatus>('status');
  }

  setAccount(choice: IAccountChoice): Promise<IStatus> {
    return requestAPI<IStatus>(
      'account',
      { method: 'PUT', body: JSON.stringify(choice) },
      this._settings
    );
  }

  async listInstanceTypes(): Promise<IInstanceType[]> {
    const reply = await this._get<{ instance_types: IInstanceType[] }>(
      'catalog/instance-types'
    );
    return reply.instance_types;
  }

  async listImages(): Promise<IImage[]> {
    const reply = await this._get<{ images: IImage[] }>('catalog/images');
    return reply.images;
  }

  async listMachines(): Promise<IMachine[]> {
    const reply = await this._get<{ machines: IMachine[] }>('machines');
    return reply.machines;
  }

  launchMachine(request: ILaunchRequest): Promise<IMachine> {
    return requestAPI<IMachine>(
      'machines',
      { method: 'POST', body: JSON.stringify(request) },
      this._settings
    );
  }

  stopMachine(id: string): Promise<IMachine> {
    return this._post(`machines/${encodeURIComponent(id)}/stop`);
  }

  startMachine(id: string): Promise<IMachine> {
    return this._post(`machines/${encodeURIComponent(id)}/start`);
  }

  rebootMachine(id: string): Promise<IMachine> {
    return this._post(`machines/${encodeURIComponent(id)}/reboot`);
  }

  terminateMachine(id: string): Promise<IMachine> {
    return requestAPI<IMachine>(
      `machines/${encodeURIComponent(id)}`,
      { method: 'DELETE' },
      this._settings
    );
  }

  changeMachine(id: string, change: IMachineChange): Promise<IMachine> {
    return requestAPI<IMachine>(
      `machines/${encodeURIComponent(id)}`,
      { method: 'PATCH', body: JSON.stringify(change) },
      this._settings
    );
  }

  changeGuard(id: string, change: IGuardChange): Promise<IMachine> {
    return requestAPI<IMachine>(
      `machines/${encodeURIComponent(id)}/guard`,
      { method: 'PUT', body: JSON.stringify(change) },
      this._settings
    );
  }

  getConnection(id: string): Promise<IMachineConnection> {
    return this._get<IMachineConnection>(
      `machines/${encodeURIComponent(id)}/connection`
    );
  }

  getLog(id: string, lines: number): Promise<IMachineLog> {
    return this._get<IMachineLog>(
      `machines/${encodeURIComponent(id)}/log?lines=${lines}`
    );
  }

  private _get<T>(path: string): Promise<T> {
    return requestAPI<T>(path, { method: 'GET' }, this._settings);
  }

  private _post(path: string): Promise<IMachine> {
    return requestAPI<IMachine>(
      path,
      { method: 'POST', body: '{}' },
      this._settings
    );
  }

  private _settings: ServerConnection.ISettings;
}

export namespace CloudLabAPI {
  export interface IOptions {
    serverSettings?: ServerConnection.ISettings;
  }
}
