import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification, ToolbarButton } from '@jupyterlab/apputils';
import {
  FileBrowser,
  IFileBrowserFactory,
  Uploader
} from '@jupyterlab/filebrowser';
import { Drive } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import {
  folderIcon,
  newFolderIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { machineDriveName, machineServerSettings } from './machineServer';
import { ReadyMachineFollower } from './readyMachines';
import { ICloudLabModel, IMachine } from './tokens';

/** Rank in the left area: just after the CloudLab panel (850). */
const BROWSER_RANK = 851;
/** How often an open machine browser lists its folder again (ms). */
const REFRESH_INTERVAL = 10000;

/**
 * One drive and one file browser in the left area per ready machine.
 *
 * The drive is JupyterLab's own `Drive` pointed at the machine's proxied
 * server, added to the app's contents manager, so paths like `my-box:data/x.csv`
 * open, save, rename, download and upload with JupyterLab's own code (chunked
 * upload with progress included). A browser per machine rather than one that
 * switches drives: each machine keeps its folder and selection, and a stopped
 * machine's browser goes away without touching the others'. The contents
 * manager cannot remove a drive, so a machine's drive is kept and used again
 * when it is ready again; while it is not, its requests get the server's
 * sentence (409/503) at once.
 */
export class MachineDrives implements IDisposable {
  constructor(options: MachineDrives.IOptions) {
    this._app = options.app;
    this._model = options.model;
    this._factory = options.factory;
    this._translator = options.translator;
    this._trans = options.trans;
    this._browsers = new ReadyMachineFollower({
      model: this._model,
      create: machine => this._createBrowser(machine),
      onLeave: machineId => this._tellClosed(machineId)
    });
  }

  get isDisposed(): boolean {
    return this._browsers.isDisposed;
  }

  /** The drive name of a machine seen ready at least once. */
  driveName(machineId: string): string | undefined {
    return this._drives.get(machineId)?.name;
  }

  /** Show a ready machine's files browser; false when it has none. */
  show(machineId: string): boolean {
    const browser = this._browsers.get(machineId);
    if (!browser) {
      return false;
    }
    this._app.shell.activateById(browser.id);
    return true;
  }

  dispose(): void {
    this._browsers.dispose();
  }

  private _tellClosed(machineId: string): void {
    const machine = this._model.findMachine(machineId);
    Notification.info(
      this._trans.__(
        'The machine "%1" is %2: its files browser was closed. It comes back when the machine is ready.',
        machine?.name ?? machineId,
        machine?.state ?? this._trans.__('gone')
      ),
      { autoClose: 5000 }
    );
  }

  private _drive(machine: IMachine): Drive {
    let drive = this._drives.get(machine.id);
    if (!drive) {
      const taken = new Set([...this._drives.values()].map(d => d.name));
      drive = new Drive({
        name: machineDriveName(machine, taken),
        serverSettings: machineServerSettings(
          this._app.serviceManager.serverSettings,
          machine.id
        )
      });
      this._app.serviceManager.contents.addDrive(drive);
      this._drives.set(machine.id, drive);
    }
    return drive;
  }

  private _createBrowser(machine: IMachine): FileBrowser {
    const drive = this._drive(machine);
    const browser = this._factory.createFileBrowser(
      `jupyter-cloudlab-files-${machine.id}`,
      {
        driveName: drive.name,
        refreshInterval: REFRESH_INTERVAL,
        restore: false
      }
    );
    browser.title.icon = folderIcon;
    browser.title.caption = this._trans.__('Files on %1', machine.name);
    browser.node.dataset.machineId = machine.id;
    browser.addClass('jp-CloudLab-machineFiles');
    // The factory's browsers have no toolbar items: the drive's name, then
    // JupyterLab's own buttons.
    const label = new Widget();
    label.node.textContent = `${drive.name}:`;
    label.node.title = this._trans.__('Files on the machine %1', machine.name);
    label.addClass('jp-CloudLab-driveLabel');
    browser.toolbar.addItem('drive', label);
    browser.toolbar.addItem(
      'new-folder',
      new ToolbarButton({
        icon: newFolderIcon,
        tooltip: this._trans.__('New Folder'),
        onClick: () => void browser.createNewDirectory()
      })
    );
    browser.toolbar.addItem(
      'upload',
      new Uploader({ model: browser.model, translator: this._translator })
    );
    browser.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: this._trans.__('Refresh the file list'),
        onClick: () => void browser.model.refresh()
      })
    );
    this._app.shell.add(browser, 'left', { rank: BROWSER_RANK });
    return browser;
  }

  private _app: JupyterFrontEnd;
  private _model: ICloudLabModel;
  private _factory: IFileBrowserFactory;
  private _translator: ITranslator;
  private _trans: TranslationBundle;
  private _drives = new Map<string, Drive>();
  private _browsers: ReadyMachineFollower<FileBrowser>;
}

export namespace MachineDrives {
  export interface IOptions {
    app: JupyterFrontEnd;
    model: ICloudLabModel;
    factory: IFileBrowserFactory;
    translator: ITranslator;
    trans: TranslationBundle;
  }
}
