import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IStatus } from '../tokens';

/** Says plainly that machines are simulated when the backend is the sandbox. */
export function SandboxBanner(props: {
  status: IStatus | null;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { status, trans } = props;
  if (!status || status.mode !== 'sandbox') {
    return null;
  }
  return (
    <div
      className="jp-CloudLab-banner"
      role="status"
      data-testid="cloudlab-sandbox-banner"
    >
      <strong>{trans.__('Sandbox mode:')}</strong>{' '}
      {trans.__(
        'machines are simulated on this computer; no AWS account was found or configured, so nothing is launched in the cloud and nothing is billed.'
      )}
      {status.message ? (
        <div className="jp-CloudLab-bannerMessage">{status.message}</div>
      ) : null}
    </div>
  );
}
