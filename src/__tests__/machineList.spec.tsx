import * as React from 'react';

import { IMachine, IMachineConnection } from '../tokens';
import { MachineList } from '../widgets/machineList';
import { machine, trans } from './fakes';

// The list's only JupyterLab component; the real module is ESM Jest skips.
jest.mock('@jupyterlab/ui-components', () => {
  const react = jest.requireActual('react');
  return {
    Button: ({ small, minimal, ...rest }: Record<string, unknown>) =>
      react.createElement('button', rest)
  };
});

// react-dom ships no types here; only createRoot and act are needed.
const { createRoot } = jest.requireActual('react-dom/client') as {
  createRoot: (node: Element) => {
    render: (element: React.ReactElement) => void;
    unmount: () => void;
  };
};
const { act } = React as unknown as { act: (callback: () => void) => void };
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

describe('MachineList', () => {
  let host: HTMLElement;
  let root: ReturnType<typeof createRoot>;

  beforeEach(() => {
    host = document.createElement('div');
    document.body.appendChild(host);
    root = createRoot(host);
  });

  afterEach(() => {
    act(() => root.unmount());
    host.remove();
  });

  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

  const actions: string[] = [];
  const render = (
    machines: IMachine[],
    connections: Record<string, IMachineConnection> = {}
  ) =>
    act(() =>
      root.render(
        <MachineList
          machines={machines}
          connection={id => connections[id]}
          trans={trans}
          onAction={(action, m) => actions.push(`${action} ${m.id}`)}
        />
      )
    );

  const row = (id: string) =>
    host.querySelector(`[data-machine-id="${id}"]`) as HTMLElement;
  const status = (id: string) =>
    row(id).querySelector('[data-testid="cloudlab-connection"]');

  it('shows a ready machine whose tunnel is down as reconnecting', () => {
    render([machine('m-1', 'ready', { state_since: ago(3_600_000) })], {
      'm-1': {
        machine_id: 'm-1',
        tunnel: 'down',
        since: ago(12_000),
        kernels: []
      }
    });

    expect(row('m-1').dataset.connection).toBe('down');
    expect(status('m-1')?.getAttribute('data-connection')).toBe('down');
    expect(
      row('m-1').querySelector('[data-testid="cloudlab-state"]')?.textContent
    ).toMatch(/^reconnecting… · 1[23] s$/);
  });

  it('shows a ready machine whose tunnel is up as connected', () => {
    render([machine('m-1', 'ready', { state_since: ago(125_000) })], {
      'm-1': { machine_id: 'm-1', tunnel: 'up', since: ago(1), kernels: [] }
    });

    expect(status('m-1')?.getAttribute('data-connection')).toBe('up');
    expect(status('m-1')?.textContent).toMatch(/^connected · 2 min [56] s$/);
  });

  it('counts the kernels running on a connected machine', () => {
    render([machine('m-1', 'ready', { state_since: ago(125_000) })], {
      'm-1': {
        machine_id: 'm-1',
        tunnel: 'up',
        since: ago(1),
        kernels: ['k-1', 'k-2']
      }
    });

    expect(status('m-1')?.textContent).toMatch(
      /^connected · 2 min [56] s · 2 kernels$/
    );
  });

  it('shows the plain state while the tunnel is unknown or not ready', () => {
    render([machine('m-1', 'ready'), machine('m-2', 'stopped')], {
      'm-2': { machine_id: 'm-2', tunnel: 'down', since: ago(1), kernels: [] }
    });

    expect(status('m-1')).toBeNull();
    expect(status('m-2')).toBeNull();
    expect(row('m-1').hasAttribute('data-connection')).toBe(false);
    expect(row('m-2').textContent).toContain('stopped');
  });

  it("shows the price, the meter's cost so far, and a stopped disk's cost", () => {
    render([
      machine('m-1', 'ready', {
        instance_type: 'g5.xlarge',
        gpu_label: 'A10G 24 GB',
        state_since: ago(2 * 3_600_000),
        price_per_hour: 1.006,
        spent_usd: 2.012
      }),
      machine('m-2', 'stopped', {
        price_per_hour: 1.006,
        stopped_cost_per_month: 8
      })
    ]);

    const details = (id: string) =>
      row(id).querySelector('.jp-CloudLab-machineDetails')?.textContent;
    expect(details('m-1')).toBe(
      'g5.xlarge · A10G 24 GB · $1.006/h · ≈ $2.01 so far'
    );
    expect(details('m-2')).toBe('t3.small · CPU · $1.006/h · disk $8.00/month');
  });

  const buttons = (id: string) =>
    Array.from(row(id).querySelectorAll('button')).map(b => b.textContent);

  it('shows a button for each action the server allows, in a fixed order', () => {
    // Given machines whose actions come in any order
    render([
      machine('m-1', 'ready', { actions: ['terminate', 'reboot', 'stop'] }),
      machine('m-2', 'stopped', { actions: ['terminate', 'start'] }),
      machine('m-3', 'rebooting', { actions: ['terminate'] }),
      machine('m-4', 'terminated', { actions: [] })
    ]);

    // Then each row shows its actions as Stop, Reboot, Start, Terminate
    expect(buttons('m-1')).toEqual(['Stop', 'Reboot', 'Terminate']);
    expect(buttons('m-2')).toEqual(['Start', 'Terminate']);
    expect(buttons('m-3')).toEqual(['Terminate']);
    expect(row('m-3').textContent).toContain('rebooting');
    expect(buttons('m-4')).toEqual([]);

    // When a button is clicked
    actions.length = 0;
    act(() =>
      (
        row('m-1').querySelector(
          '[data-testid="cloudlab-reboot"]'
        ) as HTMLButtonElement
      ).click()
    );

    // Then the list asks for that action on that machine
    expect(actions).toEqual(['reboot m-1']);
  });

  it('offers Stop for a failed machine the server allows to stop', () => {
    // Given a failed machine the server allows to stop and terminate
    render([
      machine('m-1', 'failed', {
        message: 'Bootstrap failed.',
        actions: ['stop', 'terminate']
      })
    ]);

    // Then Stop and Terminate are offered, Start is not
    const testIds = Array.from(row('m-1').querySelectorAll('button')).map(
      b => b.dataset.testid
    );
    expect(testIds).toEqual(['cloudlab-stop', 'cloudlab-terminate']);
    expect(row('m-1').textContent).toContain('Bootstrap failed.');
  });

  it('follows the actions even where the state suggests others', () => {
    // Given a ready machine the server only allows to terminate
    render([machine('m-1', 'ready', { actions: ['terminate'] })]);

    // Then Terminate is the only button, keeping its class
    expect(buttons('m-1')).toEqual(['Terminate']);
    expect(
      row('m-1').querySelector('[data-testid="cloudlab-terminate"]')?.className
    ).toContain('jp-CloudLab-terminate');
  });

  it("names the machine in each button's accessible label", () => {
    // Given a ready machine named gpu-box
    render([machine('m-1', 'ready', { name: 'gpu-box' })]);

    // Then each button's label says what it does to which machine
    const labels = Array.from(row('m-1').querySelectorAll('button')).map(b =>
      b.getAttribute('aria-label')
    );
    expect(labels).toEqual([
      'Stop gpu-box',
      'Reboot gpu-box',
      'Terminate gpu-box'
    ]);
  });

  it('shows the idle stop and budget a launching machine will get', () => {
    // Given a machine launched with an idle limit of 7 minutes and a $2.50 budget
    const launching = machine('m-1', 'bootstrapping', {
      idle_minutes: 7,
      budget_usd: 2.5
    });
    act(() =>
      root.render(
        <MachineList
          machines={[launching]}
          connection={() => undefined}
          trans={trans}
          onAction={() => undefined}
          onGuard={() => undefined}
        />
      )
    );

    // Then its row says so before it is ready
    expect(
      row('m-1').querySelector('[data-testid="cloudlab-guard-planned"]')
        ?.textContent
    ).toBe('idle stop after 7 min · budget $2.50');
  });
});
