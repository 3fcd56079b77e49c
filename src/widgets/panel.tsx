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
  IMachine,
  MachineAction,
  PANEL_ID
} from '../tokens';
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
  terminate: CommandIDs.terminate
};

function CloudLabView(props: {
  model: ICloudLabModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  defaults: ILaunchDefaults;
}): JSX.Element {
  const { model, commands, trans } = props;
  const [error, setError] = React.useState<string | null>(null);

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
  const onTerminal = (machine: IMachine) =>
    void run(CommandIDs.openTerminal, { machineId: machine.id });

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
      {model.loaded ? (
        <MachineList
          machines={model.machines}
          connection={id => model.connection(id)}
          trans={trans}
          onAction={onAction}
          onTerminal={onTerminal}
        />
      ) : (
        <p className="jp-CloudLab-empty">{trans.__('Loading…')}</p>
      )}
    </div>
  );
}
