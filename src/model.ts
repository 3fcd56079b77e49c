import { Event, KernelSpec, ServerConnection } from '@jupyterlab/services';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { loadCatalog } from './catalogLoad';
import { MachineConnections } from './connections';
import {
  CONNECTION_EVENT_SCHEMA_ID,
  IAccountChoice,
  ICloudLabAPI,
  IGuardChange,
  ICloudLabModel,
  IImage,
  IInstanceType,
  ILaunchRequest,
  IMachine,
  IMachineConnection,
  IStatus,
  MACHINE_EVENT_SCHEMA_ID,
  TRANSITIONAL_STATES
} from './tokens';

/**
 * Owns the machines list and the catalog.
 *
 * A `Poll` refreshes the list (fast while a machine is in a transitional
 * state, slow otherwise); machine lifecycle events from the server's event bus
 * refresh it at once. When the set of ready machines changes, the kernelspecs
 * are refreshed so the launcher and kernel pickers see the machine kernels.
 * Each machine's tunnel comes from connection events and, for the ready
 * machines, from a fetch after each reload.
 */
export class CloudLabModel implements ICloudLabModel {
  constructor(options: CloudLabModel.IOptions) {
    this._api = options.api;
    this._connections = new MachineConnections(id =>
      this._api.getConnection(id)
    );
    this._kernelspecs = options.kernelspecs ?? null;
    this._events = options.events ?? null;
    this._interval = options.pollInterval ?? CloudLabModel.DEFAULT_INTERVAL;
    this._fastInterval =
      options.transitionalPollInterval ?? CloudLabModel.TRANSITIONAL_INTERVAL;

    this._events?.stream.connect(this._onEvent, this);
    this._poll = new Poll({
      auto: options.auto ?? true,
      factory: () => this._tick(),
      frequency: this._frequency(this._interval),
      name: 'jupyter-cloudlab:machines',
      standby: options.standby ?? 'when-hidden'
    });
  }

  /** Emitted when anything the views show changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted after the set of ready machines (or their kernelspecs) changed. */
  get readyMachinesChanged(): ISignal<this, void> {
    return this._readyMachinesChanged;
  }

  get status(): IStatus | null {
    return this._status;
  }

  get instanceTypes(): ReadonlyArray<IInstanceType> {
    return this._instanceTypes;
  }

  get images(): ReadonlyArray<IImage> {
    return this._images;
  }

  get machines(): ReadonlyArray<IMachine> {
    return this._machines;
  }

  get readyMachines(): ReadonlyArray<IMachine> {
    return this._machines.filter(m => m.state === 'ready');
  }

  get loadError(): string | null {
    return this._accountError ?? this._loadError;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  /** Whether the last load found no CloudLab API (server extension missing). */
  get apiMissing(): boolean {
    return this._apiMissing;
  }

  /** The poll, exposed for tests and for callers that await a tick. */
  get poll(): Poll {
    return this._poll;
  }

  /** The slow poll interval in ms (used while no machine is in transition). */
  get pollInterval(): number {
    return this._interval;
  }
  set pollInterval(value: number) {
    if (!(value > 0) || value === this._interval) {
      return;
    }
    this._interval = value;
    this._updateFrequency();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  findMachine(id: string): IMachine | undefined {
    return this._machines.find(m => m.id === id);
  }

  /** The machine's tunnel, when known. */
  connection(id: string): IMachineConnection | undefined {
    return this._connections.get(id);
  }

  async kernelCount(id: string): Promise<number> {
    if (await this._connections.fetch(id)) {
      this._changed.emit();
    }
    return this.connection(id)?.kernels.length ?? 0;
  }

  /** Reload the machines now; resolves after the reload. */
  async refresh(): Promise<void> {
    await this._poll.refresh();
    await this._poll.tick;
  }

  async chooseAccount(choice: IAccountChoice): Promise<void> {
    const key = JSON.stringify([choice.profile, choice.region]);
    if (key === this._account) {
      return;
    }
    this._account = key;
    const version = ++this._accountVersion;
    try {
      this._status = await this._api.setAccount(choice);
      this._accountError = null;
    } catch (error) {
      // Kept until the settings change: the server goes on with its previous account.
      this._accountError = Private.errorMessage(error);
      this._changed.emit();
      return;
    }
    this._catalogLoaded = false; // the catalog belongs to the account and region
    this._changed.emit();
    if (version === this._accountVersion) {
      await this._loadCatalog(); // its own, whatever tick is in flight
    }
    await this.refresh();
  }

  launch(request: ILaunchRequest): Promise<IMachine> {
    return this._apply(this._api.launchMachine(request));
  }

  stop(id: string): Promise<IMachine> {
    return this._apply(this._api.stopMachine(id));
  }

  start(id: string): Promise<IMachine> {
    return this._apply(this._api.startMachine(id));
  }

  reboot(id: string): Promise<IMachine> {
    return this._apply(this._api.rebootMachine(id));
  }

  /** Turn the machine's workspace mirror on or off (its kernels' next cells follow). */
  setMirror(id: string, mirror: boolean): Promise<IMachine> {
    return this._apply(this._api.changeMachine(id, { mirror }));
  }

  /** Send a ready machine's idle limit, budget, keep-alive or stop after the cell. */
  changeGuard(id: string, change: IGuardChange): Promise<IMachine> {
    return this._apply(this._api.changeGuard(id, change));
  }

  terminate(id: string): Promise<IMachine> {
    return this._apply(this._api.terminateMachine(id));
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.stream.disconnect(this._onEvent, this);
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** One poll tick: the catalog until it loaded once, then the machines. */
  private async _tick(): Promise<void> {
    if (!this._catalogLoaded) {
      await this._loadCatalog();
    }
    await this._loadMachines();
    await this._syncConnections();
  }

  private async _syncConnections(): Promise<void> {
    const changed = await this._connections.sync(this._machines);
    if (changed && !this._isDisposed) {
      this._changed.emit();
    }
  }

  private async _loadCatalog(): Promise<void> {
    const version = this._accountVersion;
    const catalog = await loadCatalog(this._api);
    // A load begun before an account was chosen describes the old one.
    if (this._isDisposed || version !== this._accountVersion) {
      return;
    }
    this._status = catalog.status ?? this._status;
    this._instanceTypes = catalog.instanceTypes ?? this._instanceTypes;
    this._images = catalog.images ?? this._images;
    this._catalogLoaded = catalog.failure === undefined;
    if (catalog.failure !== undefined) {
      this._setLoadError(catalog.failure);
    }
    this._changed.emit();
  }

  private async _loadMachines(): Promise<void> {
    const seq = ++this._requested;
    let machines: IMachine[];
    try {
      machines = await this._api.listMachines();
    } catch (error) {
      if (!this._isDisposed) {
        this._setLoadError(error);
        this._changed.emit();
      }
      throw error;
    }
    // A reply older than one already applied is stale.
    if (this._isDisposed || seq < this._applied) {
      return;
    }
    this._applied = seq;
    if (this._catalogLoaded) {
      this._loadError = null;
      this._apiMissing = false;
    }
    this._loaded = true;
    await this._setMachines(machines);
  }

  private _setLoadError(error: unknown): void {
    this._loadError = Private.errorMessage(error);
    this._apiMissing =
      error instanceof ServerConnection.ResponseError &&
      error.response.status === 404;
  }

  /** The machine an action returned, put into the list (then a reload). */
  private async _apply(reply: Promise<IMachine>): Promise<IMachine> {
    const machine = await reply;
    const machines = this._machines.filter(m => m.id !== machine.id);
    const index = this._machines.findIndex(m => m.id === machine.id);
    machines.splice(index < 0 ? machines.length : index, 0, machine);
    // Replies to list requests already in flight predate this action.
    this._applied = ++this._requested;
    void this._setMachines(machines);
    void this._poll.refresh();
    return machine;
  }

  private async _setMachines(machines: IMachine[]): Promise<void> {
    this._machines = machines;
    this._updateFrequency();
    this._changed.emit();

    const readyKey = Private.readyKey(machines);
    if (readyKey === this._readyKey) {
      return;
    }
    this._readyKey = readyKey;
    if (this._kernelspecs) {
      try {
        await this._kernelspecs.refreshSpecs();
      } catch (error) {
        console.warn('CloudLab: could not refresh the kernelspecs', error);
      }
    }
    if (!this._isDisposed) {
      this._readyMachinesChanged.emit();
    }
  }

  private _updateFrequency(): void {
    if (this._poll.isDisposed) {
      return;
    }
    const busy = this._machines.some(m =>
      TRANSITIONAL_STATES.includes(m.state)
    );
    this._poll.frequency = this._frequency(
      busy ? Math.min(this._fastInterval, this._interval) : this._interval
    );
  }

  private _frequency(interval: number): IPoll.Frequency {
    return {
      backoff: true,
      interval,
      max: Math.max(interval * 4, CloudLabModel.MAX_INTERVAL)
    };
  }

  private _onEvent(_: Event.IManager, emission: Event.Emission): void {
    if (emission.schema_id === MACHINE_EVENT_SCHEMA_ID) {
      void this._poll.refresh();
    } else if (emission.schema_id === CONNECTION_EVENT_SCHEMA_ID) {
      if (this._connections.applyEvent(emission)) {
        this._changed.emit();
      }
    }
  }

  private _api: ICloudLabAPI;
  private _kernelspecs: KernelSpec.IManager | null;
  private _events: Event.IManager | null;
  private _poll: Poll;
  private _connections: MachineConnections;
  private _interval: number;
  private _fastInterval: number;
  private _status: IStatus | null = null;
  private _instanceTypes: IInstanceType[] = [];
  private _images: IImage[] = [];
  private _machines: IMachine[] = [];
  private _catalogLoaded = false;
  private _loaded = false;
  private _loadError: string | null = null;
  private _account = '';
  private _accountVersion = 0;
  private _accountError: string | null = null;
  private _apiMissing = false;
  private _readyKey = '';
  private _requested = 0;
  private _applied = 0;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _readyMachinesChanged = new Signal<this, void>(this);
}

export namespace CloudLabModel {
  /** Poll interval (ms) while no machine is in a transitional state. */
  export const DEFAULT_INTERVAL = 15_000;
  /** Poll interval (ms) while a machine is in a transitional state. */
  export const TRANSITIONAL_INTERVAL = 3_000;
  /** The longest back-off (ms) after failed polls. */
  export const MAX_INTERVAL = 60_000;

  export interface IOptions {
    /** The REST calls. */
    api: ICloudLabAPI;
    /** Refreshed when the ready machines change. */
    kernelspecs?: KernelSpec.IManager | null;
    /** The server's event bus (jupyter_events). */
    events?: Event.IManager | null;
    /** Slow poll interval in ms. */
    pollInterval?: number;
    /** Fast poll interval in ms. */
    transitionalPollInterval?: number;
    /** Start polling at once (default true). */
    auto?: boolean;
    /** The poll's standby policy (default 'when-hidden'). */
    standby?: Poll.Standby | (() => boolean | Poll.Standby);
  }
}

namespace Private {
  /** A key that changes when a machine becomes ready or leaves ready. */
  export function readyKey(machines: ReadonlyArray<IMachine>): string {
    return machines
      .filter(m => m.state === 'ready')
      .map(m => `${m.id}=${[...m.kernelspecs].sort().join(',')}`)
      .sort()
      .join(';');
  }

  export function errorMessage(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }
}
