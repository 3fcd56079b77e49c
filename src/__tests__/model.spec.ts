import { ServerConnection } from '@jupyterlab/services';

import { CloudLabModel } from '../model';
import { MACHINE_EVENT_SCHEMA_ID } from '../tokens';
import { FakeAPI, FakeEvents, FakeKernelSpecs, machine, until } from './fakes';

describe('CloudLabModel', () => {
  let api: FakeAPI;
  let kernelspecs: FakeKernelSpecs;
  let events: FakeEvents;
  let model: CloudLabModel;

  const newModel = () =>
    new CloudLabModel({
      api,
      kernelspecs: kernelspecs as any,
      events: events as any,
      auto: false,
      standby: 'never'
    });

  beforeEach(() => {
    api = new FakeAPI();
    kernelspecs = new FakeKernelSpecs();
    events = new FakeEvents();
    model = newModel();
  });

  afterEach(() => {
    model.dispose();
  });

  it('loads the status, the catalog and the machines', async () => {
    // Given a server with one machine
    api.machines = [machine('m-1', 'stopped')];
    const changed = jest.fn();
    model.changed.connect(changed);

    // When the model refreshes
    await model.refresh();
    await until(() => model.loaded);

    // Then it holds what the server said
    expect(model.status?.mode).toBe('sandbox');
    expect(model.instanceTypes.map(t => t.name)).toEqual(['t3.small']);
    expect(model.images.map(i => i.id)).toEqual(['ami-12345678']);
    expect(model.machines.map(m => m.id)).toEqual(['m-1']);
    expect(model.loadError).toBeNull();
    expect(changed).toHaveBeenCalled();
  });

  it('polls fast while a machine is in transition, slowly otherwise', async () => {
    // Given a machine that is starting
    api.machines = [machine('m-1', 'pending')];
    await model.refresh();
    await until(() => model.loaded);

    // Then the poll interval is the fast one
    expect(model.poll.frequency.interval).toBe(
      CloudLabModel.TRANSITIONAL_INTERVAL
    );

    // When it becomes ready
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => model.machines[0].state === 'ready');

    // Then the poll slows down
    expect(model.poll.frequency.interval).toBe(CloudLabModel.DEFAULT_INTERVAL);
  });

  it('applies the poll interval setting', async () => {
    model.pollInterval = 42_000;

    expect(model.poll.frequency.interval).toBe(42_000);
  });

  it('refreshes the kernelspecs when a machine becomes ready or leaves ready', async () => {
    // Given a booting machine
    api.machines = [machine('m-1', 'bootstrapping')];
    const readyChanged = jest.fn();
    model.readyMachinesChanged.connect(readyChanged);
    await model.refresh();
    await until(() => model.loaded);
    expect(kernelspecs.refreshCalls).toBe(0);

    // When it becomes ready
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => readyChanged.mock.calls.length === 1);

    // Then the kernelspecs were refreshed once, before the signal
    expect(kernelspecs.refreshCalls).toBe(1);
    expect(model.readyMachines.map(m => m.id)).toEqual(['m-1']);

    // When nothing changes
    await model.refresh();
    await until(() => api.listCalls >= 3);
    expect(kernelspecs.refreshCalls).toBe(1);

    // When it stops
    api.machines = [machine('m-1', 'stopping')];
    await model.refresh();
    await until(() => readyChanged.mock.calls.length === 2);

    // Then the kernelspecs are refreshed again
    expect(kernelspecs.refreshCalls).toBe(2);
    expect(model.readyMachines).toEqual([]);
  });

  it('refreshes at once on a machine lifecycle event', async () => {
    await model.refresh();
    await until(() => model.loaded);
    const before = api.listCalls;

    // When another schema's event arrives, nothing happens
    events.emit('https://events.jupyter.org/jupyter_server/kernel_actions/v1', {
      action: 'start'
    });
    await new Promise(resolve => setTimeout(resolve, 30));
    expect(api.listCalls).toBe(before);

    // When a machine event arrives
    api.machines = [machine('m-1', 'ready')];
    events.emit(MACHINE_EVENT_SCHEMA_ID, { machine_id: 'm-1', state: 'ready' });

    // Then the list is reloaded
    await until(() => model.machines.length === 1);
    expect(api.listCalls).toBeGreaterThan(before);
  });

  it("keeps the server's error message and clears it after a success", async () => {
    // Given a server that fails
    api.listError = new Error('The sandbox could not start: port in use.');

    // When the model refreshes
    await model.refresh();
    await until(() => model.loadError !== null);

    // Then the message is kept for the panel
    expect(model.loadError).toBe('The sandbox could not start: port in use.');

    // When the server recovers
    api.listError = null;
    await model.refresh();
    await until(() => model.loadError === null);
    expect(model.loaded).toBe(true);
  });

  it('switches account from the settings and reloads the catalog', async () => {
    // Given a loaded model on the sandbox
    await model.refresh();
    await until(() => model.loaded);
    expect(model.instanceTypes.map(t => t.name)).toEqual(['t3.small']);

    // When the settings pick a profile and a region
    await model.chooseAccount({ profile: 'work', region: 'eu-west-1' });

    // Then the server is told once, and the status and catalog are the new account's
    expect(model.status).toEqual({
      mode: 'aws',
      region: 'eu-west-1',
      profile: 'work',
      message: '',
      kernel_classes: '',
      default_idle_minutes: 30,
      default_budget_usd: 0
    });
    await until(
      () =>
        model.instanceTypes.length === 1 &&
        model.instanceTypes[0].name === 'g5.xlarge'
    );
    await model.chooseAccount({ profile: 'work', region: 'eu-west-1' });
    expect(api.accounts).toHaveLength(1);

    // When a profile the server does not know is picked
    await model.chooseAccount({ profile: 'missing', region: null });

    // Then its sentence stays shown, through reloads, until the settings change
    await model.refresh();
    expect(model.loadError).toBe("There is no AWS profile named 'missing'.");
    await model.chooseAccount({ profile: null, region: null });
    expect(model.loadError).toBeNull();
  });

  it('tells when the API is missing (server extension not loaded)', async () => {
    // Given a server without the CloudLab API
    const response = new Response(null, {
      status: 404,
      statusText: 'Not Found'
    });
    api.listError = new ServerConnection.ResponseError(
      response,
      '404 Not Found'
    );

    // When the model refreshes
    await model.refresh();
    await until(() => model.loadError !== null);

    // Then the panel can say what to do
    expect(model.apiMissing).toBe(true);
  });

  it('shows a launched machine at once', async () => {
    await model.refresh();
    await until(() => model.loaded);

    // When a machine is launched
    const launched = await model.launch({
      name: 'box',
      instance_type: 't3.small',
      image_id: 'ami-12345678'
    });

    // Then it is in the list before the next poll
    expect(launched.name).toBe('box');
    expect(model.findMachine('m-new')?.state).toBe('requesting');
    expect(api.launched).toHaveLength(1);
  });

  it('stops, starts and terminates through the API', async () => {
    api.machines = [machine('m-1', 'ready')];
    await model.refresh();
    await until(() => model.loaded);

    expect((await model.stop('m-1')).state).toBe('stopping');
    expect(model.findMachine('m-1')?.state).toBe('stopping');
    expect((await model.start('m-1')).state).toBe('starting');
    expect((await model.terminate('m-1')).state).toBe('terminating');
  });

  it('keeps the chosen account when a load begun before it ends after', async () => {
    // Given a first load that waits on the server's status
    let answer = () => {};
    api.statusGate = new Promise<void>(resolve => (answer = resolve));
    const firstLoad = model.refresh();
    await until(() => api.statusCalls === 1);
    // When the settings choose a region meanwhile, and then the old reply comes
    api.statusGate = null;
    const chosen = model.chooseAccount({ profile: null, region: 'eu-west-1' });
    await until(() => model.status?.region === 'eu-west-1');
    answer();
    await Promise.all([firstLoad, chosen]);
    // Then the status is the chosen account's, not the old reply's
    expect(model.status?.region).toBe('eu-west-1');
  });

  it('counts the kernels of a machine as the server says now', async () => {
    // Given a ready machine loaded while it had no kernel
    api.machines = [machine('m-1', 'ready')];
    api.connections['m-1'] = {
      machine_id: 'm-1',
      tunnel: 'up',
      since: null,
      kernels: []
    };
    await model.refresh();
    await until(() => model.connection('m-1') !== undefined);
    // When a kernel starts there before the next reload
    api.connections['m-1'] = { ...api.connections['m-1'], kernels: ['k-1'] };
    // Then the count is the server's, and the row learns it too
    expect(await model.kernelCount('m-1')).toBe(1);
    expect(model.connection('m-1')?.kernels).toEqual(['k-1']);
    // And when the server cannot answer, what is known is the count
    delete api.connections['m-1'];
    expect(await model.kernelCount('m-1')).toBe(1);
  });

  it('lets action errors reach the caller', async () => {
    await expect(model.stop('m-missing')).rejects.toThrow(
      'No machine m-missing'
    );
  });

  it('disposes its poll and stops listening to events', async () => {
    // When disposed
    model.dispose();

    // Then the poll is gone and events do nothing
    expect(model.isDisposed).toBe(true);
    expect(model.poll.isDisposed).toBe(true);
    const before = api.listCalls;
    events.emit(MACHINE_EVENT_SCHEMA_ID, { machine_id: 'm-1', state: 'ready' });
    await new Promise(resolve => setTimeout(resolve, 30));
    expect(api.listCalls).toBe(before);
  });
});
