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

  it('shows the plain state while the tunnel is unknown or not ready', () => {
    render([machine('m-1', 'ready'), machine('m-2', 'stopped')], {
      'm-2': { machine_id: 'm-2', tunnel: 'down', since: ago(1), kernels: [] }
    });

    expect(status('m-1')).toBeNull();
    expect(status('m-2')).toBeNull();
    expect(row('m-1').hasAttribute('data-connection')).toBe(false);
    expect(row('m-2').textContent).toContain('stopped');
  });

  it('shows the price and the approximate cost so far', () => {
    render([
      machine('m-1', 'ready', {
        instance_type: 'g5.xlarge',
        state_since: ago(2 * 3_600_000),
        price_per_hour: 1.006
      }),
      machine('m-2', 'stopped', { price_per_hour: 1.006 })
    ]);

    const details = (id: string) =>
      row(id).querySelector('.jp-CloudLab-machineDetails')?.textContent;
    expect(details('m-1')).toBe('g5.xlarge · $1.006/h · ≈ $2.01 so far');
    expect(details('m-2')).toBe('t3.small · $1.006/h');
  });

  it('offers the actions that fit each state, reboot only when ready', () => {
    render([
      machine('m-1', 'ready'),
      machine('m-2', 'stopped'),
      machine('m-3', 'rebooting')
    ]);

    const buttons = (id: string) =>
      Array.from(row(id).querySelectorAll('button')).map(b => b.textContent);
    expect(buttons('m-1')).toEqual(['Stop', 'Reboot', 'Terminate']);
    expect(buttons('m-2')).toEqual(['Start', 'Terminate']);
    expect(buttons('m-3')).toEqual(['Terminate']);
    expect(row('m-3').textContent).toContain('rebooting');

    actions.length = 0;
    act(() =>
      (
        row('m-1').querySelector(
          '[data-testid="cloudlab-reboot"]'
        ) as HTMLButtonElement
      ).click()
    );
    expect(actions).toEqual(['reboot m-1']);
  });
});
