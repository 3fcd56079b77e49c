import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  IMachine,
  IMachineConnection,
  MachineAction,
  TunnelState
} from '../tokens';
import {
  connectionLabel,
  elapsedSince,
  formatCost,
  formatElapsed,
  formatPrice,
  runningCost,
  stateLabel
} from './format';

export interface IMachineListProps {
  machines: ReadonlyArray<IMachine>;
  /** A machine's tunnel, when known. */
  connection: (id: string) => IMachineConnection | undefined;
  trans: TranslationBundle;
  onAction: (action: MachineAction, machine: IMachine) => void;
  /** Open a terminal on a ready machine (a view action: no server state changes). */
  onTerminal?: (machine: IMachine) => void;
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
}): JSX.Element {
  const { machine, connection, now, trans, onAction, onTerminal } = props;
  const elapsed = elapsedSince(machine.state_since, now);
  const details = [
    machine.instance_type,
    machine.gpu_label ?? '',
    machine.spot ? trans.__('spot') : '',
    formatPrice(machine.price_per_hour, trans),
    formatCost(runningCost(machine, now), trans)
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
      {machine.state === 'failed' && machine.message ? (
        <div className="jp-CloudLab-machineMessage">{machine.message}</div>
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

/** The action buttons, in the order a row shows them. */
const ACTION_BUTTONS: ReadonlyArray<{
  action: MachineAction;
  className?: string;
}> = [
  { action: 'stop' },
  { action: 'reboot' },
  { action: 'start' },
  { action: 'terminate', className: 'jp-CloudLab-terminate' }
];

/** A button's text. */
function actionText(action: MachineAction, trans: TranslationBundle): string {
  switch (action) {
    case 'stop':
      return trans.__('Stop');
    case 'reboot':
      return trans.__('Reboot');
    case 'start':
      return trans.__('Start');
    case 'terminate':
      return trans.__('Terminate');
  }
}

/** A button's accessible name, which names its machine. */
function actionLabel(
  action: MachineAction,
  name: string,
  trans: TranslationBundle
): string {
  switch (action) {
    case 'stop':
      return trans.__('Stop %1', name);
    case 'reboot':
      return trans.__('Reboot %1', name);
    case 'start':
      return trans.__('Start %1', name);
    case 'terminate':
      return trans.__('Terminate %1', name);
  }
}

/**
 * A ready machine's state as its tunnel tells it: "connected · 2 h 5 min"
 * (time ready), "reconnecting… · 12 s" (time since the tunnel went down).
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
