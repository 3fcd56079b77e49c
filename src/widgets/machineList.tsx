import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  IGuardChange,
  IMachine,
  IMachineConnection,
  MachineAction,
  TunnelState
} from '../tokens';
import {
  connectionLabel,
  elapsedSince,
  formatElapsed,
  formatHourly,
  formatSpent,
  formatStoppedCost,
  stateLabel
} from './format';
import { ACTION_BUTTONS, actionLabel, actionText } from './actionLabels';
import { WorkspaceLine } from './workspaceLine';
import { GuardLine } from './guardLine';

export interface IMachineListProps {
  machines: ReadonlyArray<IMachine>;
  /** A machine's tunnel, when known. */
  connection: (id: string) => IMachineConnection | undefined;
  trans: TranslationBundle;
  onAction: (action: MachineAction, machine: IMachine) => void;
  /** Open a terminal on a ready machine (a view action: no server state changes). */
  onTerminal?: (machine: IMachine) => void;
  /** Open the server log of a machine whose instance runs, in a tab. */
  onLog?: (machine: IMachine) => void;
  /** Turn a machine's workspace mirror on or off. */
  onMirror?: (machine: IMachine, mirror: boolean) => void;
  /** Change a ready machine's idle limit or budget. */
  onGuard?: (machine: IMachine, change: IGuardChange) => void;
}

/** The machines, newest state first as the server lists them. */
export function MachineList(props: IMachineListProps): JSX.Element {
  const { machines, trans } = props;
  const now = useNow(1000);
  if (machines.length === 0) {
    return <p className="jp-CloudLab-empty">{trans.__('No machines yet.')}</p>;
  }
  return (
    <ul className="jp-CloudLab-machines" aria-label={trans.__('Machines')}>
      {machines.map(machine => (
        <MachineRow
          key={machine.id}
          machine={machine}
          connection={
            machine.state === 'ready' ? props.connection(machine.id) : undefined
          }
          now={now}
          trans={trans}
          onAction={props.onAction}
          onTerminal={props.onTerminal}
          onLog={props.onLog}
          onMirror={props.onMirror}
          onGuard={props.onGuard}
        />
      ))}
    </ul>
  );
}

function MachineRow(props: {
  machine: IMachine;
  /** The tunnel of a ready machine, when known. */
  connection?: IMachineConnection;
  now: number;
  trans: TranslationBundle;
  onAction: (action: MachineAction, machine: IMachine) => void;
  onTerminal?: (machine: IMachine) => void;
  onLog?: (machine: IMachine) => void;
  onMirror?: (machine: IMachine, mirror: boolean) => void;
  onGuard?: (machine: IMachine, change: IGuardChange) => void;
}): JSX.Element {
  const { machine, connection, now, trans, onAction, onTerminal, onMirror } =
    props;
  const elapsed = elapsedSince(machine.state_since, now);
  const details = [
    machine.instance_type,
    machine.gpu_label ?? '',
    machine.spot ? trans.__('spot') : '',
    formatHourly(machine, trans),
    formatSpent(machine, trans),
    formatStoppedCost(machine, trans)
  ].filter(Boolean);

  return (
    <li
      className="jp-CloudLab-machine"
      data-testid="cloudlab-machine"
      data-machine-id={machine.id}
      data-state={machine.state}
      data-name={machine.name}
      data-connection={connection?.tunnel}
    >
      <div className="jp-CloudLab-machineHeader">
        <span className="jp-CloudLab-machineName" title={machine.id}>
          {machine.name}
        </span>
        <span
          className={`jp-CloudLab-state jp-CloudLab-state-${machine.state}`}
          data-testid="cloudlab-state"
        >
          {connection ? (
            <ConnectionStatus
              connection={connection}
              readyFor={elapsed}
              now={now}
              trans={trans}
            />
          ) : (
            <>
              {stateLabel(machine.state, trans)}
              {elapsed !== null ? ` · ${formatElapsed(elapsed, trans)}` : ''}
            </>
          )}
        </span>
      </div>
      <div className="jp-CloudLab-machineDetails">{details.join(' · ')}</div>
      {onMirror && machine.state !== 'terminated' ? (
        <WorkspaceLine machine={machine} trans={trans} onMirror={onMirror} />
      ) : null}
      {props.onGuard ? (
        <GuardLine
          machine={machine}
          now={now}
          trans={trans}
          onGuard={props.onGuard}
        />
      ) : null}
      {machine.state === 'failed' && machine.message ? (
        <div className="jp-CloudLab-machineMessage">{machine.message}</div>
      ) : null}
      {machine.stop_reason ? (
        <div
          className="jp-CloudLab-machineMessage jp-CloudLab-stopReason"
          data-testid="cloudlab-stop-reason"
        >
          {machine.stop_reason}
        </div>
      ) : null}
      <div className="jp-CloudLab-machineActions">
        {onTerminal && machine.state === 'ready' ? (
          <Button
            small
            data-testid="cloudlab-terminal"
            aria-label={trans.__('Open a terminal on %1', machine.name)}
            onClick={() => onTerminal(machine)}
          >
            {trans.__('Terminal')}
          </Button>
        ) : null}
        {props.onLog && hasServerLog(machine) ? (
          <Button
            small
            data-testid="cloudlab-show-log"
            aria-label={trans.__('Show the server log of %1', machine.name)}
            onClick={() => props.onLog?.(machine)}
          >
            {trans.__('Log')}
          </Button>
        ) : null}
        {ACTION_BUTTONS.filter(({ action }) =>
          machine.actions.includes(action)
        ).map(({ action, className }) => (
          <Button
            key={action}
            small
            className={className}
            data-testid={`cloudlab-${action}`}
            aria-label={actionLabel(action, machine.name, trans)}
            onClick={() => onAction(action, machine)}
          >
            {actionText(action, trans)}
          </Button>
        ))}
      </div>
    </li>
  );
}

/**
 * A ready machine's state as its tunnel tells it: "connected · 2 h 5 min"
 * (time ready), "reconnecting… · 12 s" (time since the tunnel went down),
 * then its running kernels ("· 2 kernels": stopping ends them).
 */
function ConnectionStatus(props: {
  connection: IMachineConnection;
  /** How long the machine has been ready (ms), if known. */
  readyFor: number | null;
  now: number;
  trans: TranslationBundle;
}): JSX.Element {
  const { connection, readyFor, now, trans } = props;
  const { tunnel } = connection;
  const kernels = connection.kernels.length;
  const elapsed =
    tunnel === 'up'
      ? readyFor
      : connection.since
        ? elapsedSince(connection.since, now)
        : null;
  return (
    <span
      className={`jp-CloudLab-connection jp-CloudLab-connection-${tunnel}`}
      data-testid="cloudlab-connection"
      data-connection={tunnel}
      title={connectionTitle(tunnel, trans)}
    >
      {connectionLabel(tunnel, trans)}
      {elapsed !== null ? ` · ${formatElapsed(elapsed, trans)}` : ''}
      {kernels > 0 ? ` · ${trans._n('%1 kernel', '%1 kernels', kernels)}` : ''}
    </span>
  );
}

function connectionTitle(
  tunnel: TunnelState,
  trans: TranslationBundle
): string {
  switch (tunnel) {
    case 'up':
      return trans.__('Ready; the tunnel to the machine is up.');
    case 'down':
      return trans.__(
        'The tunnel to the machine is down and heals by itself; the machine and its kernels keep running.'
      );
    case 'gone':
      return trans.__('The machine stopped answering: it stopped by itself.');
    default:
      return trans.__('Ready, but this server holds no tunnel to it.');
  }
}

/** The current time, updated every `interval` ms (for elapsed times). */
function useNow(interval: number): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), interval);
    return () => window.clearInterval(timer);
  }, [interval]);
  return now;
}

/** Whether the machine's instance runs, so its server log can be read. */
function hasServerLog(machine: IMachine): boolean {
  return (
    ['connecting', 'bootstrapping', 'ready'].includes(machine.state) ||
    (machine.state === 'failed' && machine.instance_state === 'running')
  );
}
