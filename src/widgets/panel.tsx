import { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  ReactWidget,
  refreshIcon,
  UseSignal
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { ILaunchDefaults } from '../defaults';
import { cloudIcon } from '../icons';
import {
  CommandIDs,
  ICloudLabModel,
  IGuardChange,
  IMachine,
  MachineAction,
  MachineState,
  PANEL_ID
} from '../tokens';
import { stateChanges } from './announcements';
import { SandboxBanner } from './banner';
import { errorMessage } from './format';
import { ILaunchFormValues, LaunchForm } from './launchForm';
import { MachineList } from './machineList';

/**
 * The CloudLab side panel. It renders the model and runs commands; it keeps
 * no state of its own beyond the form's fields and the last error.
 */
export class CloudLabPanel extends ReactWidget {
  constructor(options: CloudLabPanel.IOptions) {
    super();
    this._model = options.model;
    this._commands = options.commands;
    this._trans = options.trans;
    this._defaults = options.defaults;
    this.id = PANEL_ID;
    this.addClass('jp-CloudLab-panel');
    this.title.icon = cloudIcon;
    this.title.caption = this._trans.__('CloudLab');
    this.title.label = '';
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this._model.changed} initialSender={this._model}>
        {() => (
          <CloudLabView
            model={this._model}
            commands={this._commands}
            trans={this._trans}
            defaults={this._defaults()}
          />
        )}
      </UseSignal>
    );
  }

  private _model: ICloudLabModel;
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _defaults: () => ILaunchDefaults;
}

export namespace CloudLabPanel {
  export interface IOptions {
    model: ICloudLabModel;
    commands: CommandRegistry;
    trans: TranslationBundle;
    defaults: () => ILaunchDefaults;
  }
}

const ACTION_COMMANDS: Record<MachineAction, string> = {
  stop: CommandIDs.stop,
  start: CommandIDs.start,
  reboot: CommandIDs.reboot,
  terminate: CommandIDs.terminate,
  retry: CommandIDs.retry,
  resize: CommandIDs.resize,
  image: CommandIDs.saveImage,
  dismiss: CommandIDs.dismiss
};

function CloudLabView(props: {
  model: ICloudLabModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  defaults: ILaunchDefaults;
}): JSX.Element {
  const { model, commands, trans } = props;
  const [error, setError] = React.useState<string | null>(null);
  const announcement = useStateAnnouncement(model.machines, trans);

  const run = async (command: string, args: any): Promise<boolean> => {
    setError(null);
    try {
      await commands.execute(command, args);
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    }
  };

  const onLaunch = (values: ILaunchFormValues) =>
    run(CommandIDs.launch, { ...values });
  const onAction = (action: MachineAction, machine: IMachine) =>
    void run(ACTION_COMMANDS[action], { id: machine.id });
  const onMirror = (machine: IMachine, mirror: boolean) =>
    void run(CommandIDs.setMirror, { id: machine.id, mirror });
  const onTerminal = (machine: IMachine) =>
    void run(CommandIDs.openTerminal, { machineId: machine.id });
  const onGuard = (machine: IMachine, change: IGuardChange) =>
    void run(
      change.idle_minutes !== undefined && change.idle_minutes !== null
        ? CommandIDs.setIdleLimit
        : CommandIDs.setBudget,
      { id: machine.id, minutes: change.idle_minutes, usd: change.budget_usd }
    );

  const shownError =
    error ??
    (model.apiMissing
      ? trans.__(
          'The CloudLab server extension does not answer. Is the jupyter_cloudlab package installed and its server extension enabled? (%1)',
          model.loadError ?? ''
        )
      : model.loadError);

  return (
    <div className="jp-CloudLab-content">
      <header className="jp-CloudLab-header">
        <h2 className="jp-CloudLab-title">{trans.__('CloudLab')}</h2>
        <Button
          minimal
          small
          title={trans.__('Refresh')}
          aria-label={trans.__('Refresh')}
          onClick={() => void run(CommandIDs.refresh, {})}
        >
          <refreshIcon.react tag="span" />
        </Button>
      </header>
      <SandboxBanner status={model.status} trans={trans} />
      {model.status?.kernel_classes ? (
        <div
          className="jp-CloudLab-warning"
          role="status"
          data-testid="cloudlab-kernel-classes"
        >
          {model.status.kernel_classes}
        </div>
      ) : null}
      {model.status ? (
        <div className="jp-CloudLab-where">
          {model.status.mode === 'aws'
            ? trans.__(
                'AWS region %1, profile %2',
                model.status.region,
                model.status.profile || trans.__('default')
              )
            : trans.__('Region %1 (simulated)', model.status.region)}
        </div>
      ) : null}
      <LaunchForm
        instanceTypes={model.instanceTypes}
        images={model.images}
        defaults={props.defaults}
        status={model.status}
        trans={trans}
        onLaunch={onLaunch}
      />
      {shownError ? (
        <div
          className="jp-CloudLab-error"
          role="alert"
          data-testid="cloudlab-error"
        >
          {shownError}
        </div>
      ) : null}
      <h3 className="jp-CloudLab-subtitle">{trans.__('Machines')}</h3>
      <div
        className="jp-CloudLab-announcer"
        aria-live="polite"
        data-testid="cloudlab-announcer"
      >
        {announcement}
      </div>
      {model.loaded ? (
        <MachineList
          machines={model.machines}
          connection={id => model.connection(id)}
          trans={trans}
          onAction={onAction}
          onTerminal={onTerminal}
          onLog={machine => void run(CommandIDs.showLog, { id: machine.id })}
          onMirror={onMirror}
          onGuard={onGuard}
        />
      ) : (
        <p className="jp-CloudLab-empty">{trans.__('Loading…')}</p>
      )}
    </div>
  );
}

/** "<name> is now <state>" for the machines whose state changed (for aria-live). */
function useStateAnnouncement(
  machines: ReadonlyArray<IMachine>,
  trans: TranslationBundle
): string {
  const seen = React.useRef<Map<string, MachineState> | null>(null);
  const [text, setText] = React.useState('');
  React.useEffect(() => {
    const { changes, next } = stateChanges(seen.current, machines);
    seen.current = next;
    if (changes.length > 0) {
      setText(
        changes.map(c => trans.__('%1 is now %2', c.name, c.state)).join('. ')
      );
    }
  }, [machines]);
  return text;
}
