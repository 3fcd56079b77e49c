import { IMachine, IMachineConnection, TunnelState } from './tokens';

const TUNNEL_STATES: ReadonlyArray<TunnelState> = [
  'up',
  'down',
  'gone',
  'refused',
  'detached'
];

/**
 * The tunnels of the machines, kept by the model: connection events update
 * them as they come; each reload of the machines fetches the ready machines'
 * (GET machines/{id}/connection) and forgets the others'.
 *
 * An event that arrives while a fetch is in flight wins over the fetch's
 * reply, which may predate it.
 */
export class MachineConnections {
  constructor(fetch: (id: string) => Promise<IMachineConnection>) {
    this._fetch = fetch;
  }

  /** The machine's tunnel, when known. */
  get(id: string): IMachineConnection | undefined {
    return this._connections.get(id);
  }

  /** Apply the payload of a connection event; true when anything changed. */
  applyEvent(data: unknown): boolean {
    const connection = Private.parse(data);
    return connection ? this._set(connection) : false;
  }

  /**
   * Fetch the ready machines' tunnels and forget the others'. Resolves true
   * when anything changed; a failed fetch keeps what was known.
   */
  async sync(machines: ReadonlyArray<IMachine>): Promise<boolean> {
    const ready = new Set(
      machines.filter(m => m.state === 'ready').map(m => m.id)
    );
    this._ready = ready;
    let changed = false;
    for (const id of [...this._connections.keys()]) {
      if (!ready.has(id)) {
        this._connections.delete(id);
        changed = true;
      }
    }
    const replies = await Promise.all(
      [...ready].map(async id => {
        const stamp = this._stamp(id);
        try {
          const reply = Private.parse(await this._fetch(id));
          // Applied only if no event (nor other reply) came meanwhile.
          return reply && this._stamp(id) === stamp && this._ready.has(id)
            ? this._set(reply)
            : false;
        } catch {
          return false;
        }
      })
    );
    return replies.some(Boolean) || changed;
  }

  /**
   * Ask the server for one machine's tunnel now (its kernels may have changed
   * since the last reload); true when anything changed. A failed fetch keeps
   * what was known.
   */
  async fetch(id: string): Promise<boolean> {
    try {
      const reply = Private.parse(await this._fetch(id));
      return reply ? this._set(reply) : false;
    } catch {
      return false;
    }
  }

  private _set(connection: IMachineConnection): boolean {
    const id = connection.machine_id;
    this._stamps.set(id, this._stamp(id) + 1);
    const known = this._connections.get(id);
    if (known && Private.same(known, connection)) {
      return false;
    }
    this._connections.set(id, connection);
    return true;
  }

  private _stamp(id: string): number {
    return this._stamps.get(id) ?? 0;
  }

  private _fetch: (id: string) => Promise<IMachineConnection>;
  private _connections = new Map<string, IMachineConnection>();
  private _stamps = new Map<string, number>();
  private _ready = new Set<string>();
}

namespace Private {
  /** A connection from an event or a reply, or null when it is not one. */
  export function parse(data: unknown): IMachineConnection | null {
    if (typeof data !== 'object' || data === null) {
      return null;
    }
    const { machine_id, tunnel, since, kernels } = data as Record<
      string,
      unknown
    >;
    if (
      typeof machine_id !== 'string' ||
      !TUNNEL_STATES.includes(tunnel as TunnelState)
    ) {
      return null;
    }
    return {
      machine_id,
      tunnel: tunnel as TunnelState,
      since: typeof since === 'string' ? since : null,
      kernels: Array.isArray(kernels)
        ? kernels.filter((k): k is string => typeof k === 'string')
        : []
    };
  }

  export function same(a: IMachineConnection, b: IMachineConnection): boolean {
    return (
      a.tunnel === b.tunnel &&
      a.since === b.since &&
      a.kernels.join(',') === b.kernels.join(',')
    );
  }
}
