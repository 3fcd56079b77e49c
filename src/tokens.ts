/**
 * Tokens, command ids and the types of the REST API. No side effects here.
 *
 * The REST types are names for those generated from jupyter_cloudlab/openapi.yaml
 * into ./api_types.ts (`jlpm build:api-types`), itself generated from the
 * server's pydantic models: the three cannot drift.
 */
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import type { components } from './api_types';

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
  /** Connect and bootstrap again a failed machine that runs; args `{ id }`. */
  export const retry = 'jupyter-cloudlab:retry';
  /** Change a stopped machine's instance type (asks which); args `{ id }`. */
  export const resize = 'jupyter-cloudlab:resize';
  /** Save a stopped machine as an image (asks its name); args `{ id }`. */
  export const saveImage = 'jupyter-cloudlab:save-image';
  /** Remove the row of a machine terminated from outside; args `{ id }`. */
  export const dismiss = 'jupyter-cloudlab:dismiss';
  export const refresh = 'jupyter-cloudlab:refresh';
  export const open = 'jupyter-cloudlab:open';
  /** Open a terminal on a ready machine; args `{ machineId }`. */
  export const openTerminal = 'jupyter-cloudlab:open-terminal';
  /** Turn a machine's workspace mirror on or off; args `{ id, mirror }`. */
  export const setMirror = 'jupyter-cloudlab:set-mirror';
  /** Open a running machine's server log in a tab; args `{ id }`. */
  export const showLog = 'jupyter-cloudlab:show-log';
  /** Show a ready machine's files browser; args `{ machineId }`. */
  export const openFiles = 'jupyter-cloudlab:open-files';
  /** No idle stop for an hour (args: id, until: ISO time). */
  export const keepAlive = 'jupyter-cloudlab:keep-alive';
  /** Stop the machine as soon as its running cell finishes (args: id). */
  export const stopAfterCell = 'jupyter-cloudlab:stop-after-cell';
  /** "Stop at $X" (args: id, usd; asked when missing). */
  export const setBudget = 'jupyter-cloudlab:set-budget';
  /** Minutes idle before the machine powers off (args: id, minutes). */
  export const setIdleLimit = 'jupyter-cloudlab:set-idle-limit';
}

/** A schema of the REST API (jupyter_cloudlab/openapi.yaml, from models/). */
type Schema<K extends keyof components['schemas']> = components['schemas'][K];

/** Where machines are launched. */
export type BackendMode = IStatus['mode'];

/** GET status */
export type IStatus = Schema<'Status'>;

/** The AWS profile and region picked in the settings (null: the server's). */
export type IAccountChoice = Schema<'AccountChoice'>;

export type IGpu = Schema<'Gpu'>;

/** One entry of GET catalog/instance-types */
export type IInstanceType = Schema<'InstanceTypeModel'>;

/** One entry of GET catalog/images */
export type IImage = Schema<'ImageModel'>;

/** The root disk's EBS volume types, the default first. */
export const DISK_TYPES = ['gp3', 'gp2', 'io1', 'io2'] as const;

/** A root disk's EBS volume type (the same as the API's `disk_type`). */
export type DiskType = NonNullable<ILaunchRequest['disk_type']>;

/** POST machines */
export type ILaunchRequest = Schema<'LaunchRequest'>;

/** POST machines/{id}/resize */
export type IResizeRequest = Schema<'ResizeRequest'>;

/** POST machines/{id}/image */
export type IImageRequest = Schema<'ImageRequest'>;

/** Every state a machine goes through. */
export type MachineState = Schema<'MachineState'>;

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
export type MachineAction = Schema<'MachineAction'>;

/** A machine as the REST API returns it. */
export type IMachine = Schema<'Machine'>;

/**
 * A machine's tunnel: up, down (healing by itself; the machine and its kernels
 * keep running), gone (the machine stopped by itself), refused (its SSH host
 * key changed) or detached (no link: never connected, or we let go).
 */
export type TunnelState = Schema<'TunnelState'>;

/** PATCH machines/{id}: what may change on an existing machine. */
export type IMachineChange = Schema<'MachineChange'>;

/** PUT machines/{id}/guard: idle limit, budget, keep-alive, stop after the cell. */
export type IGuardChange = Schema<'GuardChange'>;

/** GET machines/{id}/connection, and the payload of a connection event. */
export type IMachineConnection = Schema<'MachineConnection'>;

/** GET machines/{id}/log */
export type IMachineLog = Schema<'MachineLog'>;

/** Every 4xx/5xx reply of the REST API. */
export type IErrorReply = Schema<'ErrorReply'>;

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
  changeMachine(id: string, change: IMachineChange): Promise<IMachine>;
  changeGuard(id: string, change: IGuardChange): Promise<IMachine>;
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
  /**
   * How many kernels run on the machine, asked of the server now (a kernel
   * started since the last reload counts); what is known if it cannot answer.
   */
  kernelCount(id: string): Promise<number>;
  refresh(): Promise<void>;
  /** Use this AWS profile and region (from the settings); the catalog reloads. */
  chooseAccount(choice: IAccountChoice): Promise<void>;
  launch(request: ILaunchRequest): Promise<IMachine>;
  stop(id: string): Promise<IMachine>;
  start(id: string): Promise<IMachine>;
  reboot(id: string): Promise<IMachine>;
  /** Turn a machine's workspace mirror on or off. */
  setMirror(id: string, mirror: boolean): Promise<IMachine>;
  /** Send a ready machine's idle limit, budget, keep-alive or stop after the cell. */
  changeGuard(id: string, change: IGuardChange): Promise<IMachine>;
  terminate(id: string): Promise<IMachine>;
}

/** The machines model token. */
export const ICloudLabModel = new Token<ICloudLabModel>(
  'jupyter-cloudlab:ICloudLabModel',
  'The CloudLab machines model: machines, catalog and lifecycle actions.'
);
