import { ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IInstanceType, IMachine } from '../tokens';
import { instanceTypeLabel } from './format';
import { priceChange } from './resizeChoices';

/** The body of the resize dialog: a type picker and the price change it makes. */
export class ResizeBody extends ReactWidget {
  constructor(
    private readonly _machine: IMachine,
    private readonly _choices: ReadonlyArray<IInstanceType>,
    private readonly _currentPrice: number | null | undefined,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this._value = _choices[0]?.name ?? '';
  }

  /** The chosen type (the dialog's value). */
  getValue(): string {
    return this._value;
  }

  render(): JSX.Element {
    return (
      <ResizeForm
        machine={this._machine}
        choices={this._choices}
        currentPrice={this._currentPrice}
        trans={this._trans}
        onChange={value => (this._value = value)}
      />
    );
  }

  private _value: string;
}

function ResizeForm(props: {
  machine: IMachine;
  choices: ReadonlyArray<IInstanceType>;
  currentPrice: number | null | undefined;
  trans: TranslationBundle;
  onChange: (value: string) => void;
}): JSX.Element {
  const { machine, choices, currentPrice, trans } = props;
  const [value, setValue] = React.useState(choices[0]?.name ?? '');
  const chosen = choices.find(t => t.name === value);
  const change = priceChange(currentPrice, chosen?.price_per_hour, trans);
  return (
    <div className="jp-CloudLab-resize">
      <p>
        {trans.__(
          '%1 is a %2 now. Its disk and files stay; only its instance type changes.',
          machine.name,
          machine.instance_type
        )}
      </p>
      <HTMLSelect
        aria-label={trans.__('New instance type')}
        data-testid="cloudlab-resize-type"
        value={value}
        options={choices.map(t => ({
          value: t.name,
          label: instanceTypeLabel(t, trans)
        }))}
        onChange={event => {
          setValue(event.target.value);
          props.onChange(event.target.value);
        }}
      />
      <p data-testid="cloudlab-resize-price">
        {change
          ? trans.__('Price on demand: %1', change)
          : trans.__('The price of this type is not known here.')}
      </p>
    </div>
  );
}
