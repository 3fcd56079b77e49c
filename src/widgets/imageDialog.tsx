import { ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IImageRequest, IMachine } from '../tokens';

/** The body of the "Save image" dialog: the image's name and what it holds. */
export class ImageBody extends ReactWidget {
  constructor(
    private readonly _machine: IMachine,
    private readonly _trans: TranslationBundle
  ) {
    super();
    const day = new Date().toISOString().slice(0, 10);
    this._value = { name: `${_machine.name} ${day}`, description: '' };
  }

  /** The request the dialog's Save sends. */
  getValue(): IImageRequest {
    return { ...this._value };
  }

  render(): JSX.Element {
    const trans = this._trans;
    return (
      <div className="jp-CloudLab-imageForm">
        <p>
          {trans.__(
            'The disk of %1 becomes an image you can launch new machines from. AWS bills its snapshot while you keep it (about $0.05 per GB-month); `jupyter cloudlab sweep` removes it.',
            this._machine.name
          )}
        </p>
        <label>
          {trans.__('Name')}
          <input
            className="jp-mod-styled"
            data-testid="cloudlab-image-name"
            defaultValue={this._value.name}
            onChange={event => (this._value.name = event.target.value)}
          />
        </label>
        <label>
          {trans.__('What it holds')}
          <input
            className="jp-mod-styled"
            data-testid="cloudlab-image-description"
            placeholder={trans.__('e.g. PyTorch 2.7 with my packages')}
            onChange={event => (this._value.description = event.target.value)}
          />
        </label>
      </div>
    );
  }

  private _value: IImageRequest;
}
