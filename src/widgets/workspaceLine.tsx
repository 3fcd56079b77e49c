import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IMachine } from '../tokens';

/**
 * A machine's workspace: the machine folder that holds the mirrored notebook
 * folders, and whether notebooks' folders follow its kernels (the mirror).
 */
export function WorkspaceLine(props: {
  machine: IMachine;
  trans: TranslationBundle;
  onMirror: (machine: IMachine, mirror: boolean) => void;
}): JSX.Element {
  const { machine, trans, onMirror } = props;
  const label = trans.__("Mirror notebooks' folders to %1", machine.name);
  return (
    <div className="jp-CloudLab-workspace" data-testid="cloudlab-workspace">
      <label title={label}>
        <input
          type="checkbox"
          data-testid="cloudlab-mirror"
          aria-label={label}
          checked={machine.mirror}
          onChange={event => onMirror(machine, event.currentTarget.checked)}
        />{' '}
        {trans.__('Mirror folders')}
      </label>
      {machine.mirror && machine.workspace ? (
        <span
          className="jp-CloudLab-workspaceFolder"
          title={trans.__(
            "A notebook's folder is mirrored under %1 on the machine",
            machine.workspace
          )}
        >
          {' · '}
          {machine.workspace}
        </span>
      ) : null}
    </div>
  );
}
