import { CloudLabModel } from '../model';
import { CONNECTION_EVENT_SCHEMA_ID, MACHINE_EVENT_SCHEMA_ID } from '../tokens';
import { FakeAPI, FakeEvents, FakeKernelSpecs, machine, until } from './fakes';

const DOWN_SINCE = '2026-11-23T11:00:00Z';

describe('CloudLabModel connections', () => {
  let api: FakeAPI;
  let events: FakeEvents;
  let model: CloudLabModel;

  beforeEach(() => {
    api = new FakeAPI();
    events = new FakeEvents();
    model = new CloudLabModel({
      api,
      kernelspecs: new FakeKernelSpecs() as any,
      events: events as any,
      auto: false,
      standby: 'never'
    });
  });

  afterEach(() => {
    model.dispose();
  });

  const tunnelEvent = (machineId: string, tunnel: string, since: string) =>
    events.emit(CONNECTION_EVENT_SCHEMA_ID, {
      machine_id: machineId,
      tunnel,
      since,
      kernels: ['k-1']
    });

  it('fetches the tunnels of ready machines on refresh, only theirs', async () => {
    // Given a ready machine whose tunnel is down, and a stopped one
    api.machines = [machine('m-1', 'ready'), machine('m-2', 'stopped')];
    api.connections['m-1'] = {
      machine_id: 'm-1',
      tunnel: 'down',
      since: DOWN_SINCE,
      kernels: []
    };

    // When the model refreshes
    await model.refresh();

    // Then it asked for the ready machine's tunnel only, and holds it
    expect(api.connectionCalls).toEqual(['m-1']);
    expect(model.connection('m-1')).toEqual({
      machine_id: 'm-1',
      tunnel: 'down',
      since: DOWN_SINCE,
      kernels: []
    });
    expect(model.connection('m-2')).toBeUndefined();

    // When the machine leaves ready
    api.machines = [machine('m-1', 'stopping'), machine('m-2', 'stopped')];
    await model.refresh();

    // Then its tunnel is forgotten and not asked for again
    expect(model.connection('m-1')).toBeUndefined();
    expect(api.connectionCalls).toEqual(['m-1']);
  });

  it('applies a connection event at once, without reloading', async () => {
    // Given a ready machine with its tunnel up
    api.machines = [machine('m-1', 'ready')];
    api.connections['m-1'] = {
      machine_id: 'm-1',
      tunnel: 'up',
      since: null,
      kernels: []
    };
    await model.refresh();
    expect(model.connection('m-1')?.tunnel).toBe('up');
    const listCalls = api.listCalls;
    const changed = jest.fn();
    model.changed.connect(changed);

    // When the tunnel goes down
    tunnelEvent('m-1', 'down', DOWN_SINCE);

    // Then the model says so at once
    expect(model.connection('m-1')).toEqual({
      machine_id: 'm-1',
      tunnel: 'down',
      since: DOWN_SINCE,
      kernels: ['k-1']
    });
    expect(changed).toHaveBeenCalledTimes(1);

    // When the same event comes again, nothing changes
    tunnelEvent('m-1', 'down', DOWN_SINCE);
    expect(changed).toHaveBeenCalledTimes(1);

    // And no reload was needed
    await new Promise(resolve => setTimeout(resolve, 30));
    expect(api.listCalls).toBe(listCalls);
  });

  it('ignores malformed connection events and other schemas', async () => {
    const changed = jest.fn();
    model.changed.connect(changed);

    tunnelEvent('m-1', 'sideways', DOWN_SINCE);
    events.emit(CONNECTION_EVENT_SCHEMA_ID, { tunnel: 'up' });
    events.emit(MACHINE_EVENT_SCHEMA_ID, { machine_id: 'm-1', tunnel: 'up' });

    expect(model.connection('m-1')).toBeUndefined();
    expect(changed).not.toHaveBeenCalled();
  });

  it('lets an event win over a fetch reply that predates it', async () => {
    // Given a fetch in flight that will answer "down"
    api.machines = [machine('m-1', 'ready')];
    api.connections['m-1'] = {
      machine_id: 'm-1',
      tunnel: 'down',
      since: DOWN_SINCE,
      kernels: []
    };
    let release = () => {};
    api.connectionGate = new Promise<void>(resolve => (release = resolve));
    const refreshed = model.refresh();
    await until(() => api.connectionCalls.length === 1);

    // When the "up" event arrives before the reply
    tunnelEvent('m-1', 'up', '2026-11-23T11:00:20Z');
    release();
    await refreshed;

    // Then the event's state stands
    expect(model.connection('m-1')?.tunnel).toBe('up');
    expect(model.connection('m-1')?.since).toBe('2026-11-23T11:00:20Z');
  });

  it('keeps what it knew when the fetch fails, without a load error', async () => {
    // Given a ready machine known to be reconnecting
    api.machines = [machine('m-1', 'ready')];
    tunnelEvent('m-1', 'down', DOWN_SINCE);

    // When the reload's fetch fails (no connection endpoint)
    await model.refresh();

    // Then the machines loaded, the tunnel is still known, no error shows
    expect(api.connectionCalls).toEqual(['m-1']);
    expect(model.machines).toHaveLength(1);
    expect(model.connection('m-1')?.tunnel).toBe('down');
    expect(model.loadError).toBeNull();
  });

  it('stops listening to connection events when disposed', () => {
    model.dispose();
    tunnelEvent('m-1', 'down', DOWN_SINCE);
    expect(model.connection('m-1')).toBeUndefined();
  });
});
