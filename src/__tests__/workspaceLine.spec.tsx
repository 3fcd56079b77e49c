import * as React from 'react';

import { IMachine } from '../tokens';
import { WorkspaceLine } from '../widgets/workspaceLine';
import { machine, trans } from './fakes';

// react-dom ships no types here; only createRoot and act are needed.
const { createRoot } = jest.requireActual('react-dom/client') as {
  createRoot: (node: Element) => {
    render: (element: React.ReactElement) => void;
    unmount: () => void;
  };
};
const { act } = React as unknown as { act: (callback: () => void) => void };
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

describe('WorkspaceLine', () => {
  const host = document.createElement('div');
  document.body.appendChild(host);
  const root = createRoot(host);
  const asked: Array<[string, boolean]> = [];
  const show = (m: IMachine) =>
    act(() =>
      root.render(
        <WorkspaceLine
          machine={m}
          trans={trans}
          onMirror={(target, mirror) => asked.push([target.id, mirror])}
        />
      )
    );
  const box = () =>
    host.querySelector('[data-testid="cloudlab-mirror"]') as HTMLInputElement;

  it("shows where a mirrored machine keeps notebooks' folders", () => {
    show(machine('m-1', 'ready', { workspace: '~/cloudlab/work' }));

    expect(box().checked).toBe(true);
    expect(host.textContent).toContain('~/cloudlab/work');
    expect(box().getAttribute('aria-label')).toContain('m-1');
  });

  it('turns the mirror off from its checkbox and hides the folder', () => {
    show(machine('m-2', 'ready', { workspace: '~/cloudlab/work' }));
    act(() => box().click());
    expect(asked).toEqual([['m-2', false]]);

    show(
      machine('m-2', 'ready', { mirror: false, workspace: '~/cloudlab/work' })
    );
    expect(box().checked).toBe(false);
    expect(host.textContent).not.toContain('~/cloudlab/work');
  });
});
