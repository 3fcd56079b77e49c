import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IMachine, STOPPABLE_STATES } from '../tokens';
import { elapsedSince, formatElapsed, formatPrice, stateLabel } from './format';

/** A machine action the list asks for. */
export type MachineAction = 'stop' | 'start' | 'terminate';

export interface IMachineListProps {
  machines: ReadonlyArray<IMachine>;
  trans: TranslationBundle;
  onAction: (action: MachineAction, machine: IMachine) => void;
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
          now={now}
          trans={trans}
          onAction={props.onAction}
        />
      ))}
    </ul>
  );
}

function MachineRow(props: {
  machine: IMachine;
  now: number;
  trans: TranslationBundle;
  onAction: (action: MachineAction, machine: IMachine) => void;
}): JSX.Element {
  const { machine, now, trans, onAction } = props;
  const elapsed = elapsedSince(machine.state_since, now);
  const details = [
    machine.instance_type,
    machine.gpu_label ?? '',
    machine.spot ? trans.__('spot') : '',
    formatPrice(machine.price_per_hour, trans)
  ].filter(Boolean);

  return (
    <li
      className="jp-CloudLab-machine"
      data-testid="cloudlab-machine"
      data-machine-id={machine.id}
      data-state={machine.state}
      data-name={machine.name}
    >
      <div className="jp-CloudLab-machineHeader">
        <span className="jp-CloudLab-machineName" title={machine.id}>
          {machine.name}
        </span>
        <span
          className={`jp-CloudLab-state jp-CloudLab-state-${machine.state}`}
          data-testid="cloudlab-state"
        >
          {stateLabel(machine.state, trans)}
          {elapsed !== null ? ` · ${formatElapsed(elapsed, trans)}` : ''}
        </span>
      </div>
      <div className="jp-CloudLab-machineDetails">{details.join(' · ')}</div>
      {machine.state === 'failed' && machine.message ? (
        <div className="jp-CloudLab-machineMessage">{machine.message}</div>
      ) : null}
      <div className="jp-CloudLab-machineActions">
        {STOPPABLE_STATES.includes(machine.state) ? (
          <Button
            small
            data-testid="cloudlab-stop"
            onClick={() => onAction('stop', machine)}
          >
            {trans.__('Stop')}
          </Button>
        ) : null}
        {machine.state === 'stopped' ? (
          <Button
            small
            data-testid="cloudlab-start"
            onClick={() => onAction('start', machine)}
          >
            {trans.__('Start')}
          </Button>
        ) : null}
        {machine.state !== 'terminated' ? (
          <Button
            small
            className="jp-CloudLab-terminate"
            data-testid="cloudlab-terminate"
            onClick={() => onAction('terminate', machine)}
          >
            {trans.__('Terminate')}
          </Button>
        ) : null}
      </div>
    </li>
  );
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
