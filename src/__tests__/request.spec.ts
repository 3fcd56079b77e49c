import { ServerConnection } from '@jupyterlab/services';

import { CloudLabAPI } from '../api';
import { requestAPI } from '../request';

type FetchMock = jest.Mock<Promise<Response>, [Request]>;

function settingsWith(fetch: FetchMock): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/lab-base/',
    token: 'secret',
    fetch: fetch as unknown as typeof window.fetch
  });
}

function reply(status: number, body?: unknown): Promise<Response> {
  return Promise.resolve(
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json' }
    })
  );
}

/** Without the cache-busting query ServerConnection appends. */
function withoutQuery(url: string): string {
  return url.split('?')[0];
}

describe('requestAPI', () => {
  it('calls the API under cloudlab/api with the server token', async () => {
    // Given a server that answers
    const fetch: FetchMock = jest.fn((_: Request) =>
      reply(200, { mode: 'sandbox' })
    );

    // When the status is requested
    const data = await requestAPI<{ mode: string }>(
      'status',
      {},
      settingsWith(fetch)
    );

    // Then the URL and auth header are right and the JSON is returned
    expect(data).toEqual({ mode: 'sandbox' });
    const request = fetch.mock.calls[0][0];
    expect(withoutQuery(request.url)).toBe(
      'http://localhost:8888/lab-base/cloudlab/api/status'
    );
    expect(request.headers.get('Authorization')).toBe('token secret');
  });

  it("throws an Error whose message is the server's message", async () => {
    // Given a server that refuses with a JSON message
    const fetch: FetchMock = jest.fn((_: Request) =>
      reply(409, { message: 'The machine is already stopped.', reason: null })
    );

    // When / Then
    await expect(
      requestAPI('machines/m-1/stop', { method: 'POST' }, settingsWith(fetch))
    ).rejects.toThrow('The machine is already stopped.');
  });

  it('falls back to the status line when the error has no JSON', async () => {
    const fetch: FetchMock = jest.fn((_: Request) =>
      Promise.resolve(
        new Response('<html>oops</html>', {
          status: 502,
          statusText: 'Bad Gateway'
        })
      )
    );

    await expect(requestAPI('status', {}, settingsWith(fetch))).rejects.toThrow(
      '502 Bad Gateway'
    );
  });

  it('returns undefined for an empty body', async () => {
    const fetch: FetchMock = jest.fn((_: Request) => reply(204));

    const data = await requestAPI('machines/m-1', {}, settingsWith(fetch));

    expect(data).toBeUndefined();
  });

  it('turns a failed fetch into a NetworkError', async () => {
    const fetch: FetchMock = jest.fn((_: Request) =>
      Promise.reject(new TypeError('Failed to fetch'))
    );

    await expect(
      requestAPI('status', {}, settingsWith(fetch))
    ).rejects.toBeInstanceOf(ServerConnection.NetworkError);
  });
});

describe('CloudLabAPI', () => {
  it('sends the verbs and bodies of the OpenAPI document', async () => {
    // Given an API on a recording server
    const fetch: FetchMock = jest.fn((request: Request) => {
      if (
        withoutQuery(request.url).endsWith('/machines') &&
        request.method === 'GET'
      ) {
        return reply(200, { machines: [] });
      }
      if (withoutQuery(request.url).endsWith('/catalog/images')) {
        return reply(200, { images: [{ id: 'ami-12345678' }] });
      }
      return reply(202, { id: 'm-1' });
    });
    const api = new CloudLabAPI({ serverSettings: settingsWith(fetch) });

    // When every call is made
    expect(await api.listMachines()).toEqual([]);
    expect(await api.listImages()).toEqual([{ id: 'ami-12345678' }]);
    await api.launchMachine({ instance_type: 't3.small', image_id: 'ami-1' });
    await api.stopMachine('m-1');
    await api.startMachine('m-1');
    await api.rebootMachine('m-1');
    await api.terminateMachine('m-1');

    // Then each went to its path with its verb
    const calls = fetch.mock.calls.map(([r]) => [
      r.method,
      withoutQuery(r.url).replace(
        'http://localhost:8888/lab-base/cloudlab/api/',
        ''
      )
    ]);
    expect(calls).toEqual([
      ['GET', 'machines'],
      ['GET', 'catalog/images'],
      ['POST', 'machines'],
      ['POST', 'machines/m-1/stop'],
      ['POST', 'machines/m-1/start'],
      ['POST', 'machines/m-1/reboot'],
      ['DELETE', 'machines/m-1']
    ]);
    const launch = fetch.mock.calls[2][0];
    expect(await launch.json()).toEqual({
      instance_type: 't3.small',
      image_id: 'ami-1'
    });
  });
});
