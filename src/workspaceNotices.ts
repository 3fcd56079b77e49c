import { Notification } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

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
export class WorkspaceNotices implements IDisposable {
  constructor(
    private readonly _events: Event.IManager,
    private readonly _trans: TranslationBundle
  ) {
    _events.stream.connect(this._onEvent, this);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._events.stream.disconnect(this._onEvent, this);
  }

  private _onEvent(_: Event.IManager, emission: Event.Emission): void {
    if (emission.schema_id !== WORKSPACE_EVENT_SCHEMA_ID) {
      return;
    }
    const notice = emission as unknown as IWorkspaceNotice;
    const key = `${notice.machine_id}:${notice.folder ?? ''}`;
    const progressId = this._progress.get(key);
    switch (notice.kind) {
      case 'progress': {
        const total = notice.total_bytes ?? 0;
        const progress =
          total > 0 ? (notice.done_bytes ?? 0) / total : undefined;
        if (progressId === undefined) {
          const id = Notification.emit(notice.message, 'in-progress', {
            autoClose: false,
            progress
          });
          this._progress.set(key, id);
        } else {
          Notification.update({
            id: progressId,
            message: notice.message,
            type: 'in-progress',
            autoClose: false,
            progress
          });
        }
        return;
      }
      case 'done':
        if (progressId !== undefined) {
          this._progress.delete(key);
          Notification.update({
            id: progressId,
            message: notice.message,
            type: 'success',
            autoClose: 3000
          });
        }
        return;
      case 'failed':
        this._closeProgress(key);
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

  private _closeProgress(key: string): void {
    const id = this._progress.get(key);
    if (id !== undefined) {
      this._progress.delete(key);
      Notification.dismiss(id);
    }
  }

  private _disposed = false;
  private readonly _progress = new Map<string, string>();
}
