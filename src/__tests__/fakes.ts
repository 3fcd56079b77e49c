import { Signal } from '@lumino/signaling';

import {
  IAccountChoice,
  ICloudLabAPI,
  IImage,
  IInstanceType,
  ILaunchRequest,
  IMachine,
  IGuardChange,
  IMachineChange,
  IMachineConnection,
  IStatus,
  MachineAction,
  MachineState
} from '../tokens';

/**
 * The actions the server allows a machine that has an instance, by state (a
 * copy of jupyter_cloudlab/machines/transitions.py for the fakes only: the
 * panel itself reads `IMachine.actions`).
 */
export const SERVER_ACTIONS: Record<MachineState, MachineAction[]> = {
  requesting: ['terminate'],
  pending: ['stop', 'terminate'],
  connecting: ['stop', 'terminate'],
  bootstrapping: ['stop', 'terminate'],
  ready: ['stop', 'reboot', 'terminate'],
  stopping: ['terminate'],
  stopped: ['start', 'terminate', 'resize', 'image'],
  starting: ['terminate'],
  rebooting: ['terminate'],
  terminating: ['terminate'],
  terminated: ['dismiss'],
  failed: ['stop', 'terminate']
};

/**
 * A machine with defaults for the fields a test does not care about; its
 * actions are the server's for its state unless `extra` gives them.
 */
export function machine(
  id: string,
  state: MachineState,
  extra: Partial<IMachine> = {}
): IMachine {
  return {
    id,
    instance_id: null,
    name: id,
    instance_type: 't3.small',
    image_id: 'ami-12345678',
    region: 'us-east-1',
    spot: false,
    state,
    state_since: '2026-11-23T10:00:00Z',
    launched_at: null,
    message: null,
    address: null,
    gpu_label: 'CPU',
    price_per_hour: null,
    price_source: '',
    hourly_cost: null,
    stopped_cost_per_month: null,
    spent_usd: null,
    spent_today_usd: null,
    cost_lines: [],
    kernelspecs: state === 'ready' ? [`cloudlab.${id}.python3`] : [],
    actions: [...SERVER_ACTIONS[state]],
    stop_reason: null,
    instance_state: null,
    mirror: true,
    workspace: state === 'ready' ? '~/cloudlab/work' : null,
    idle_minutes: null,
    budget_usd: null,
    stop_at: null,
    idle: null,
    ...extra
  };
}

/** An instance type as the server sends it (every field), with `extra` over defaults. */
export function instanceType(
  extra: Partial<IInstanceType> & Pick<IInstanceType, 'name'>
): IInstanceType {
  return {
    vcpus: 2,
    memory_gib: 2,
    architecture: 'x86_64',
    gpu: null,
    price_per_hour: null,
    spot_price_per_hour: null,
    price_source: 'api',
    ...extra
  };
}

/** An in-memory API whose machines list a test sets. */
export class FakeAPI implements ICloudLabAPI {
  status: IStatus = {
    mode: 'sandbox',
    region: 'us-east-1',
    profile: null,
    message: 'why',
    kernel_classes: '',
    default_idle_minutes: 30,
    default_budget_usd: 0
  };
  instanceTypes: IInstanceType[] = [instanceType({ name: 't3.small' })];
  images: IImage[] = [
    {
      id: 'ami-12345678',
      name: 'Ubuntu',
      description: '',
      architecture: 'x86_64',
      ssh_user: 'ubuntu',
      family: 'ubuntu',
      ours: false,
      state: 'available',
      snapshot_gib: null,
      storage_usd_per_month: null,
      storage_price_note: null
    }
  ];
  machines: IMachine[] = [];
  listError: Error | null = null;
  listCalls = 0;
  launched: ILaunchRequest[] = [];
  /** The tunnels GET machines/{id}/connection answers (404 when missing). */
  connections: Record<string, IMachineConnection> = {};
  connectionCalls: string[] = [];
  /** When set, connection replies wait for it. */
  connectionGate: Promise<void> | null = null;

  /** The account choices received; a profile named "missing" is refused. */
  accounts: IAccountChoice[] = [];

  /** When set, status replies wait for it (with the status of their asking). */
  statusGate: Promise<void> | null = null;
  statusCalls = 0;

  async getStatus(): Promise<IStatus> {
    this.statusCalls++;
    const status = this.status;
    await this.statusGate;
    return status;
  }
  async setAccount(choice: IAccountChoice): Promise<IStatus> {
    this.accounts.push(choice);
    if (choice.profile === 'missing') {
      throw new Error("There is no AWS profile named 'missing'.");
    }
    this.status = {
      mode: 'aws',
      region: choice.region ?? 'us-east-1',
      profile: choice.profile ?? null,
      message: '',
      kernel_classes: '',
      default_idle_minutes: 30,
      default_budget_usd: 0
    };
    this.instanceTypes = [
      instanceType({ name: 'g5.xlarge', vcpus: 4, memory_gib: 16 })
    ];
    return this.status;
  }
  async listInstanceTypes(): Promise<IInstanceType[]> {
    return this.instanceTypes;
  }
  async listImages(): Promise<IImage[]> {
    return this.images;
  }
  async listMachines(): Promise<IMachine[]> {
    this.listCalls++;
    if (this.listError) {
      throw this.listError;
    }
    return this.machines.map(m => ({ ...m }));
  }
  async launchMachine(request: ILaunchRequest): Promise<IMachine> {
    this.launched.push(request);
    const m = machine('m-new', 'requesting', {
      name: request.name ?? request.instance_type
    });
    this.machines.push(m);
    return m;
  }
  async stopMachine(id: string): Promise<IMachine> {
    return this._set(id, 'stopping');
  }
  async startMachine(id: string): Promise<IMachine> {
    return this._set(id, 'starting');
  }
  async rebootMachine(id: string): Promise<IMachine> {
    return this._set(id, 'rebooting');
  }
  async terminateMachine(id: string): Promise<IMachine> {
    return this._set(id, 'terminating');
  }
  async changeMachine(id: string, change: IMachineChange): Promise<IMachine> {
    const m = this.machines.find(x => x.id === id);
    if (!m) {
      throw new Error(`No machine ${id}`);
    }
    m.mirror = change.mirror ?? m.mirror;
    return { ...m };
  }
  async changeGuard(id: string, change: IGuardChange): Promise<IMachine> {
    const m = this.machines.find(x => x.id === id);
    if (!m) {
      throw new Error(`No machine ${id}`);
    }
    this.guardChanges.push({ id, change });
    m.idle_minutes = change.idle_minutes ?? m.idle_minutes;
    m.budget_usd = change.budget_usd ?? m.budget_usd;
    return { ...m };
  }
  guardChanges: { id: string; change: IGuardChange }[] = [];
  async getConnection(id: string): Promise<IMachineConnection> {
    this.connectionCalls.push(id);
    const reply = this.connections[id];
    await this.connectionGate;
    if (!reply) {
      throw new Error(`No machine ${id}`);
    }
    return { ...reply };
  }
  private _set(id: string, state: MachineState): IMachine {
    const m = this.machines.find(x => x.id === id);
    if (!m) {
      throw new Error(`No machine ${id}`);
    }
    m.state = state;
    m.actions = [...SERVER_ACTIONS[state]];
    return { ...m };
  }
}

/** Just enough of KernelSpec.IManager. */
export class FakeKernelSpecs {
  specs: { default: string; kernelspecs: Record<string, any> } = {
    default: 'python3',
    kernelspecs: {}
  };
  refreshCalls = 0;
  specsChanged = new Signal<this, any>(this);

  async refreshSpecs(): Promise<void> {
    this.refreshCalls++;
  }

  /** Make the server list these kernelspec names. */
  setSpecs(names: string[]): void {
    this.specs = {
      default: 'python3',
      kernelspecs: Object.fromEntries(
        names.map(name => [
          name,
          { name, display_name: `Py ${name}`, resources: {} }
        ])
      )
    };
    this.specsChanged.emit(this.specs);
  }
}

/** Just enough of Event.IManager. */
export class FakeEvents {
  stream = new Signal<this, any>(this);
  emit(schemaId: string, payload: Record<string, unknown>): void {
    this.stream.emit({ schema_id: schemaId, ...payload });
  }
}

/** Resolve once `condition` holds (checked every few ms, 2 s at most). */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
  throw new Error('condition not met in time');
}

/** A translation bundle that only fills in %1, %2, … (like nullTranslator). */
export const trans = {
  __: (text: string, ...args: unknown[]) => fill(text, args),
  _n: (one: string, many: string, n: number, ...args: unknown[]) =>
    fill(n === 1 ? one : many, [n, ...args]),
  _p: (_context: string, text: string, ...args: unknown[]) => fill(text, args),
  _np: (_c: string, one: string, many: string, n: number, ...args: unknown[]) =>
    fill(n === 1 ? one : many, [n, ...args]),
  gettext: (text: string) => text,
  ngettext: (one: string, many: string, n: number) => (n === 1 ? one : many),
  pgettext: (_c: string, text: string) => text,
  npgettext: (_c: string, one: string, many: string, n: number) =>
    n === 1 ? one : many,
  dcnpgettext: (
    _d: string,
    _c: string,
    one: string,
    many: string,
    n: number
  ) => (n === 1 ? one : many)
} as any;

function fill(text: string, args: unknown[]): string {
  return text.replace(/%(\d+)/g, (match, index) => {
    const value = args[Number(index) - 1];
    return value === undefined ? match : String(value);
  });
}
