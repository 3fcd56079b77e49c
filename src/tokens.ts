/**
 * Tokens, command ids and the types of the REST API. No side effects here.
 *
 * The interfaces mirror jupyter_cloudlab/openapi.yaml.
 */
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

/** The id prefix of every plugin of this extension. */
export const PLUGIN_ID = 'jupyter-cloudlab';

/** The translation domain of this extension. */
export const TRANSLATION_DOMAIN = 'jupyter_cloudlab';

/** The jupyter_events schema id of the machine lifecycle events. */
export const MACHINE_EVENT_SCHEMA_ID =
  'https://events.jupyter.org/jupyter_cloudlab/machine/v1';

/** The jupyter_events schema id of the machine connection (tunnel) events. */
export const CONNECTION_EVENT_SCHEMA_ID =
  'https://events.jupyter.org/jupyter_cloudlab/connection/v1';

/** The REST API's base path, under the server's base URL. */
export const API_NAMESPACE = 'cloudlab/api';

/** The id of the side panel (also used by tests). */
export const PANEL_ID = 'jupyter-cloudlab-panel';

/** The commands of this extension. */
export namespace CommandIDs {
  export const launch = 'jupyter-cloudlab:launch';
  export const stop = 'jupyter-cloudlab:stop';
  export const start = 'jupyter-cloudlab:start';
  export const reboot = 'jupyter-cloudlab:reboot';
  export const terminate = 'jupyter-cloudlab:terminate';
  export const refresh = 'jupyter-cloudlab:refresh';
  export const open = 'jupyter-cloudlab:open';
}

/** Where machines are launched. */
export type BackendMode = 'sandbox' | 'aws';

/** GET status */
export interface IStatus {
  mode: BackendMode;
  region: string;
  profile?: string | null;
  message?: string;
}

/** The AWS profile and region picked in the settings (null: the server's). */
export interface IAccountChoice {
  profile: string | null;
  region: string | null;
}

export interface IGpu {
  manufacturer?: string;
  model: string;
  count: number;
  memory_gib: number;
}

/** One entry of GET catalog/instance-types */
export interface IInstanceType {
  name: string;
  vcpus: number;
  memory_gib: number;
  architecture: string;
  gpu?: IGpu | null;
  price_per_hour?: number | null;
  spot_price_per_hour?: number | null;
  /** 'api' (AWS Pricing API) or 'snapshot (YYYY-MM)' (prices shipped with the package). */
  price_source?: string;
}

/** One entry of GET catalog/images */
export interface IImage {
  id: string;
  name: string;
  description?: string;
  architecture: string;
  ssh_user: string;
  family?: string;
}

/** The root disk's EBS volume types, the default first. */
export const DISK_TYPES = ['gp3', 'gp2', 'io1', 'io2'] as const;

/** A root disk's EBS volume type. */
export type DiskType = (typeof DISK_TYPES)[number];

/** POST machines */
export interface ILaunchRequest {
  name?: string;
  instance_type: string;
  image_id: string;
  disk_gib?: number;
  disk_type?: DiskType;
  spot?: boolean;
  /** Spot only: on interruption AWS stops the machine and starts it again later. */
  spot_persistent?: boolean;
  /** Login on the machine; defaults to the image family's (ubuntu / ec2-user). */
  ssh_user?: string;
}

/** Every state a machine goes through. */
export type MachineState =
  | 'requesting'
  | 'pending'
  | 'connecting'
  | 'bootstrapping'
  | 'ready'
  | 'stopping'
  | 'stopped'
  | 'starting'
  | 'rebooting'
  | 'terminating'
  | 'terminated'
  | 'failed';

/** States a machine leaves by itself: the model polls faster while one is seen. */
export const TRANSITIONAL_STATES: ReadonlyArray<MachineState> = [
  'requesting',
  'pending',
  'connecting',
  'bootstrapping',
  'stopping',
  'starting',
  'rebooting',
  'terminating'
];

/**
 * What a user may ask of a machine. Which ones a machine allows now comes from
 * the server (`IMachine.actions`); the panel keeps no state → action table.
 */
export type MachineAction = 'stop' | 'start' | 'reboot' | 'terminate';

/** A machine as the REST API returns it. */
export interface IMachine {
  id: string;
  instance_id?: string | null;
  name: string;
  instance_type: string;
  image_id: string;
  region: string;
  spot?: boolean;
  state: MachineState;
  state_since: string;
  launched_at?: string | null;
  message?: string | null;
  address?: string | null;
  gpu_label?: string;
  price_per_hour?: number | null;
  kernelspecs: string[];
  /**
   * What the user may ask of the machine now, as the server's transition
   * table allows it in its current state. The panel's buttons and the
   * commands' enabled state come from here.
   */
  actions: MachineAction[];
}

/**
 * A machine's tunnel: up, down (healing by itself; the machine and its kernels
 * keep running), gone (the machine stopped by itself), refused (its SSH host
 * key changed) or detached (no link: never connected, or we let go).
 */
export type TunnelState = 'up' | 'down' | 'gone' | 'refused' | 'detached';

/** GET machines/{id}/connection, and the payload of a connection event. */
export interface IMachineConnection {
  machine_id: string;
  tunnel: TunnelState;
  /** When the tunnel entered this state (ISO 8601); null if never connected. */
  since: string | null;
  /** Ids of the machine's kernels this server lists. */
  kernels: string[];
}

/** The payload of a machine lifecycle event. */
export interface IMachineEvent {
  machine_id: string;
  state: MachineState;
  message?: string | null;
}

/** The typed REST calls the model uses (an interface so tests can fake it). */
export interface ICloudLabAPI {
  getStatus(): Promise<IStatus>;
  setAccount(choice: IAccountChoice): Promise<IStatus>;
  listInstanceTypes(): Promise<IInstanceType[]>;
  listImages(): Promise<IImage[]>;
  listMachines(): Promise<IMachine[]>;
  launchMachine(request: ILaunchRequest): Promise<IMachine>;
  stopMachine(id: string): Promise<IMachine>;
  startMachine(id: string): Promise<IMachine>;
  rebootMachine(id: string): Promise<IMachine>;
  terminateMachine(id: string): Promise<IMachine>;
  getConnection(id: string): Promise<IMachineConnection>;
}

/** The machines model, shared by the panel, the commands and the launcher. */
export interface ICloudLabModel extends IDisposable {
  /** Emitted when anything the views show changes. */
  readonly changed: ISignal<ICloudLabModel, void>;
  /** Emitted after the set of ready machines (or their kernelspecs) changed. */
  readonly readyMachinesChanged: ISignal<ICloudLabModel, void>;
  readonly status: IStatus | null;
  readonly instanceTypes: ReadonlyArray<IInstanceType>;
  readonly images: ReadonlyArray<IImage>;
  readonly machines: ReadonlyArray<IMachine>;
  /** The last error met while loading, if any. */
  readonly loadError: string | null;
  /** Whether the last load found no CloudLab API (server extension missing). */
  readonly apiMissing: boolean;
  /** Whether the first load finished. */
  readonly loaded: boolean;
  /** Machines in state ready. */
  readonly readyMachines: ReadonlyArray<IMachine>;
  findMachine(id: string): IMachine | undefined;
  /** The tunnel of a machine, when known (ready machines, or from events). */
  connection(id: string): IMachineConnection | undefined;
  refresh(): Promise<void>;
  /** Use this AWS profile and region (from the settings); the catalog reloads. */
  chooseAccount(choice: IAccountChoice): Promise<void>;
  launch(request: ILaunchRequest): Promise<IMachine>;
  stop(id: string): Promise<IMachine>;
  start(id: string): Promise<IMachine>;
  reboot(id: string): Promise<IMachine>;
  terminate(id: string): Promise<IMachine>;
}

/** The machines model token. */
export const ICloudLabModel = new Token<ICloudLabModel>(
  'jupyter-cloudlab:ICloudLabModel',
  'The CloudLab machines model: machines, catalog and lifecycle actions.'
);
