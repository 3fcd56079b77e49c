import { ServerConnection } from '@jupyterlab/services';

import {
  machineDriveName,
  machineServerPath,
  machineServerSettings
} from '../machineServer';

describe('machineServerSettings', () => {
  it('points the base and websocket URLs at the machine proxy, keeping the rest', () => {
    // Given the local server's settings
    const local = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/lab-base/',
      wsUrl: 'ws://localhost:8888/lab-base/',
      token: 'local-token'
    });
    // When they are pointed at a machine
    const settings = machineServerSettings(local, 'm-1a2b3c4d');
    // Then both URLs end in the machine's proxied server, and the token is the local one
    expect(settings.baseUrl).toBe(
      'http://localhost:8888/lab-base/cloudlab/machines/m-1a2b3c4d/server/'
    );
    expect(settings.wsUrl).toBe(
      'ws://localhost:8888/lab-base/cloudlab/machines/m-1a2b3c4d/server/'
    );
    expect(settings.token).toBe('local-token');
    expect(machineServerPath('m-1')).toBe('cloudlab/machines/m-1/server/');
  });
});

describe('machineDriveName', () => {
  it('is the machine name without the characters a drive name cannot hold', () => {
    expect(machineDriveName({ id: 'm-1', name: 'my-box' })).toBe('my-box');
    expect(machineDriveName({ id: 'm-1', name: 'a:b/c\\d' })).toBe('a-b-c-d');
    expect(machineDriveName({ id: 'm-1', name: '  ' })).toBe('m-1');
  });

  it('adds the id when another machine has the name already', () => {
    const taken = new Set(['my-box']);
    expect(machineDriveName({ id: 'm-2', name: 'my-box' }, taken)).toBe(
      'my-box-m-2'
    );
  });
});
