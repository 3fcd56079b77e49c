import { IMachine, MachineState } from '../tokens';

/** A machine whose state changed since the last look. */
export interface IStateChange {
  name: string;
  state: MachineState;
}

/**
 * The machines whose state changed since `seen` (null: the first look, which
 * announces nothing), and what to remember for the next look.
 */
export function stateChanges(
  seen: ReadonlyMap<string, MachineState> | null,
  machines: ReadonlyArray<IMachine>
): { changes: IStateChange[]; next: Map<string, MachineState> } {
  const next = new Map(machines.map(m => [m.id, m.state]));
  if (seen === null) {
    return { changes: [], next };
  }
  const changes = machines
    .filter(m => seen.get(m.id) !== m.state)
    .map(m => ({ name: m.name, state: m.state }));
  return { changes, next };
}
