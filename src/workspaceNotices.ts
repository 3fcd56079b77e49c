import { Notification } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { KeyedNotifications, Notices } from './notices';

/** The jupyter_events schema id of the workspace mirror's notices. */
export const WORKSPACE_EVENT_SCHEMA_ID =
  'https://events.jupyter.org/jupyter_cloudlab/workspace/v1';

/** A notice of a machine's workspace mirror, as the server emits it. */
interface IWorkspaceNotice {
  machine_id: string;
  kind: 'progress' | 'conflict' | 'left_out' | 'failed' | 'done';
  message: string;
  folder?: string;
  done_bytes?: number;
  total_bytes?: number;
}

/**
 * Shows what the workspace mirror tells the user as JupyterLab notifications: one updating
 * notification with a progress bar per transfer (closed when it is done), and warnings for
 * files changed on both sides, files the size limit left out, and failed transfers (their
 * messages name the files).
 */
export class WorkspaceNotices extends Notices {
  constructor(
    events: Event.IManager,
    private readonly _trans: TranslationBundle
  ) {
    super();
    events.stream.connect(this._onEvent, this);
  }

  private _onEvent(_: Event.IManager, emission: Event.Emission): void {
    if (emission.schema_id !== WORKSPACE_EVENT_SCHEMA_ID) {
      return;
    }
    const notice = emission as unknown as IWorkspaceNotice;
    const key = `${notice.machine_id}:${notice.folder ?? ''}`;
    switch (notice.kind) {
      case 'progress': {
        const total = notice.total_bytes ?? 0;
        const progress =
          total > 0 ? (notice.done_bytes ?? 0) / total : undefined;
        this._transfers.show(key, notice.message, 'in-progress', {
          autoClose: false,
          progress
        });
        return;
      }
      case 'done':
        this._transfers.finish(key, notice.message, 'success', {
          autoClose: 3000
        });
        return;
      case 'failed':
        this._transfers.dismiss(key);
        Notification.error(this._trans.__('Workspace: %1', notice.message), {
          autoClose: false
        });
        return;
      default:
        // conflict, left_out: the message names the files concerned.
        Notification.warning(this._trans.__('Workspace: %1', notice.message), {
          autoClose: false
        });
    }
  }

  /** Per machine and folder: the transfer under way's notification. */
  private readonly _transfers = new KeyedNotifications();
}
