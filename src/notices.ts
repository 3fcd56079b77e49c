import { Notification } from '@jupyterlab/apputils';
import { ReadonlyJSONValue } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';

/**
 * What turns signals (the model's, the events stream's, the commands') into
 * JupyterLab notifications: a subclass connects its slots with itself as
 * the receiver, and disposing disconnects them all.
 */
export abstract class Notices implements IDisposable {
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    // Every connection whose receiver is this object, whatever its signal.
    Signal.clearData(this);
  }

  private _isDisposed = false;
}

/** A notification's options (autoClose, actions, progress, …). */
export type NoticeOptions = Notification.IOptions<ReadonlyJSONValue>;

/**
 * The notifications still open, one per key (a machine id, a machine's
 * folder, …), so that later news updates or closes them rather than adding
 * more.
 */
export class KeyedNotifications {
  has(key: string): boolean {
    return this._open.has(key);
  }

  /** The keys with a notification open. */
  keys(): string[] {
    return [...this._open.keys()];
  }

  /** What the key's notification says now. */
  message(key: string): string | undefined {
    return this._open.get(key)?.message;
  }

  /** Update the key's notification, or show one if it has none. */
  show(
    key: string,
    message: string,
    type: Notification.TypeOptions,
    options: NoticeOptions
  ): void {
    const open = this._open.get(key);
    if (open) {
      Notification.update({ id: open.id, message, type, ...options });
      open.message = message;
    } else {
      const id = Notification.emit(message, type, options);
      this._open.set(key, { id, message });
    }
  }

  /**
   * Update the key's notification a last time and forget it (its own
   * autoClose closes it, or the user does); nothing when it has none.
   */
  finish(
    key: string,
    message: string,
    type: Notification.TypeOptions,
    options: NoticeOptions
  ): void {
    if (this._open.has(key)) {
      this.show(key, message, type, options);
      this._open.delete(key);
    }
  }

  /** Close the key's notification, if it has one. */
  dismiss(key: string): void {
    const open = this._open.get(key);
    if (open) {
      this._open.delete(key);
      Notification.dismiss(open.id);
    }
  }

  private _open = new Map<string, { id: string; message: string }>();
}
