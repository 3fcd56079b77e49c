import * as React from 'react';

import { IStatus } from '../tokens';
import { ILaunchFormValues, LaunchForm } from '../widgets/launchForm';
import { parseBudget, parseIdleMinutes } from '../widgets/launchLimits';
import { FakeAPI, trans } from './fakes';

// The form's JupyterLab components; the real module is ESM Jest skips.
jest.mock('@jupyterlab/ui-components', () => {
  const react = jest.requireActual('react');
  return {
    Button: ({ small, minimal, ...rest }: Record<string, unknown>) =>
      react.createElement('button', rest),
    HTMLSelect: ({ options, ...rest }: Record<string, any>) =>
      react.createElement(
        'select',
        rest,
        options.map((o: { value: string; label: string }) =>
          react.createElement(
            'option',
            { key: o.value, value: o.value },
            o.label
          )
        )
      ),
    InputGroup: (props: Record<string, unknown>) =>
      react.createElement('input', props)
  };
});

// react-dom ships no types here; only createRoot and act are needed.
const { createRoot } = jest.requireActual('react-dom/client') as {
  createRoot: (node: Element) => {
    render: (element: React.ReactElement) => void;
    unmount: () => void;
  };
};
const { act } = React as unknown as {
  act: (callback: () => void | Promise<void>) => Promise<void>;
};
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

describe('LaunchForm', () => {
  let host: HTMLElement;
  let root: ReturnType<typeof createRoot>;
  let sent: ILaunchFormValues[];
  const api = new FakeAPI();

  beforeEach(() => {
    host = document.createElement('div');
    document.body.appendChild(host);
    root = createRoot(host);
    sent = [];
  });

  afterEach(async () => {
    await act(() => root.unmount());
    host.remove();
  });

  const render = (status: IStatus | null) =>
    act(() =>
      root.render(
        <LaunchForm
          instanceTypes={api.instanceTypes}
          images={api.images}
          defaults={{ instanceType: '', imageId: '', diskGib: 100 }}
          status={status}
          trans={trans}
          onLaunch={async values => {
            sent.push(values);
            return true;
          }}
        />
      )
    );

  const input = (testId: string) =>
    host.querySelector(`[data-testid="${testId}"]`) as HTMLInputElement;
  const idle = () => input('cloudlab-launch-idle-minutes');
  const budget = () => input('cloudlab-launch-budget-usd');
  const launchButton = () => input('cloudlab-launch') as HTMLButtonElement;

  /** Type into a React-controlled input as a user does. */
  const type = (field: HTMLInputElement, text: string) =>
    act(() => {
      const setter = Object.getOwnPropertyDescriptor(
        HTMLInputElement.prototype,
        'value'
      )!.set!;
      setter.call(field, text);
      field.dispatchEvent(new Event('input', { bubbles: true }));
    });

  const submit = () =>
    act(async () => {
      host
        .querySelector('form')!
        .dispatchEvent(
          new Event('submit', { bubbles: true, cancelable: true })
        );
    });

  it("prefills the idle stop and budget with the server's defaults", async () => {
    await render({ ...api.status, default_idle_minutes: 45 });

    expect(idle().value).toBe('45');
    expect(budget().value).toBe('0');
    // Each field is named by its label, and says what 0 means
    expect(idle().closest('label')?.textContent).toContain('Idle stop (min)');
    expect(idle().closest('label')?.title).toContain('0 = never');
    expect(budget().closest('label')?.textContent).toContain('Budget ($)');
    expect(budget().closest('label')?.title).toContain('0 = none');
  });

  it("leaves the server's defaults out of the launch when untouched", async () => {
    await render(api.status);
    await submit();

    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toHaveProperty('idle_minutes');
    expect(sent[0]).not.toHaveProperty('budget_usd');
  });

  it('sends the idle stop and budget typed in the form', async () => {
    await render(api.status);
    await type(idle(), '7');
    await type(budget(), '2.5');
    await submit();

    expect(sent[0]).toMatchObject({
      instance_type: 't3.small',
      idle_minutes: 7,
      budget_usd: 2.5
    });
  });

  it('refuses to launch with minutes that are not whole or dollars below 0', async () => {
    await render(api.status);
    await type(idle(), '7.5');
    expect(idle().getAttribute('aria-invalid')).toBe('true');
    expect(launchButton().disabled).toBe(true);

    await type(idle(), '7');
    await type(budget(), '-1');
    expect(idle().getAttribute('aria-invalid')).toBe('false');
    expect(budget().getAttribute('aria-invalid')).toBe('true');
    expect(launchButton().disabled).toBe(true);
    await submit();
    expect(sent).toEqual([]);

    await type(budget(), '0');
    expect(launchButton().disabled).toBe(false);
  });
});

describe('launch limits', () => {
  it('takes whole minutes up to a week, and dollars from 0', () => {
    expect(parseIdleMinutes(null)).toEqual({ valid: true });
    expect(parseIdleMinutes(' ')).toEqual({ valid: true });
    expect(parseIdleMinutes('0')).toEqual({ value: 0, valid: true });
    expect(parseIdleMinutes('10080')).toEqual({ value: 10080, valid: true });
    expect(parseIdleMinutes('10081').valid).toBe(false);
    expect(parseIdleMinutes('-1').valid).toBe(false);
    expect(parseIdleMinutes('1e3').valid).toBe(false);
    expect(parseBudget('2.5')).toEqual({ value: 2.5, valid: true });
    expect(parseBudget('0')).toEqual({ value: 0, valid: true });
    expect(parseBudget('-0.5').valid).toBe(false);
    expect(parseBudget('lots').valid).toBe(false);
  });
});
