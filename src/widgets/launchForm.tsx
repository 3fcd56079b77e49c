import { TranslationBundle } from '@jupyterlab/translation';
import { Button, HTMLSelect, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ILaunchDefaults, pick } from '../defaults';
import {
  DISK_TYPES,
  DiskType,
  IImage,
  IInstanceType,
  IStatus
} from '../tokens';
import { instanceTypeLabel } from './format';
import {
  ILaunchLimitTexts,
  LaunchLimitFields,
  parseBudget,
  parseIdleMinutes
} from './launchLimits';
import { pickerImageLabel } from './yourImages';

/** What the form asks to launch. */
export interface ILaunchFormValues {
  name: string;
  instance_type: string;
  image_id: string;
  disk_gib?: number;
  disk_type: DiskType;
  spot: boolean;
  /** Spot only: on interruption AWS stops the machine instead. */
  spot_persistent: boolean;
  /** Left out: the server's default (0: never). */
  idle_minutes?: number;
  /** Left out: the server's default (0: none). */
  budget_usd?: number;
}

export interface ILaunchFormProps {
  instanceTypes: ReadonlyArray<IInstanceType>;
  images: ReadonlyArray<IImage>;
  defaults: ILaunchDefaults;
  /** The server's status: its idle limit and budget prefill the form. */
  status: IStatus | null;
  trans: TranslationBundle;
  /** Resolves true when the launch was accepted. */
  onLaunch: (values: ILaunchFormValues) => Promise<boolean>;
}

/** The launch form: name, instance type, image, disk, spot, idle stop, budget. */
export function LaunchForm(props: ILaunchFormProps): JSX.Element {
  const { instanceTypes, images, defaults, trans } = props;
  const [name, setName] = React.useState('');
  const [instanceType, setInstanceType] = React.useState('');
  const [imageId, setImageId] = React.useState('');
  const [disk, setDisk] = React.useState(String(defaults.diskGib));
  const [diskType, setDiskType] = React.useState<DiskType>(DISK_TYPES[0]);
  const [spot, setSpot] = React.useState(false);
  const [keep, setKeep] = React.useState(false);
  const [limits, setLimits] = React.useState<ILaunchLimitTexts>({
    idle: null,
    budget: null
  });
  const [busy, setBusy] = React.useState(false);

  // Until the user picks one, follow the defaults and the catalog.
  const typeValue =
    instanceType ||
    pick(
      instanceTypes.map(t => t.name),
      defaults.instanceType
    );
  const imageValue =
    imageId ||
    pick(
      images.map(i => i.id),
      defaults.imageId
    );
  const idle = parseIdleMinutes(limits.idle);
  const budget = parseBudget(limits.budget);
  const canLaunch =
    !busy && !!typeValue && !!imageValue && idle.valid && budget.valid;
  const typeOptions = instanceTypes.map(t => ({
    value: t.name,
    label: instanceTypeLabel(t, trans)
  }));
  const imageOptions = images.map(i => ({
    value: i.id,
    label: pickerImageLabel(i, trans)
  }));
  const titleOf = (options: { value: string; label: string }[], v: string) =>
    options.find(o => o.value === v)?.label ?? '';

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!canLaunch) {
      return;
    }
    setBusy(true);
    const diskGib = parseInt(disk, 10);
    try {
      const accepted = await props.onLaunch({
        name: name.trim(),
        instance_type: typeValue,
        image_id: imageValue,
        disk_gib: Number.isNaN(diskGib) ? undefined : diskGib,
        disk_type: diskType,
        spot,
        spot_persistent: spot && keep,
        ...(idle.value !== undefined ? { idle_minutes: idle.value } : {}),
        ...(budget.value !== undefined ? { budget_usd: budget.value } : {})
      });
      if (accepted) {
        setName('');
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="jp-CloudLab-form"
      onSubmit={onSubmit}
      aria-label={trans.__('Launch a machine')}
    >
      <label className="jp-CloudLab-field">
        <span>{trans.__('Name')}</span>
        <InputGroup
          data-testid="cloudlab-name"
          type="text"
          value={name}
          placeholder={trans.__('Defaults to the instance type')}
          onChange={e => setName(e.currentTarget.value)}
        />
      </label>
      <label className="jp-CloudLab-field">
        <span>{trans.__('Instance type')}</span>
        <HTMLSelect
          data-testid="cloudlab-instance-type"
          value={typeValue}
          title={titleOf(typeOptions, typeValue)}
          onChange={e => setInstanceType(e.currentTarget.value)}
          options={typeOptions}
        />
      </label>
      <label className="jp-CloudLab-field">
        <span>{trans.__('Image')}</span>
        <HTMLSelect
          data-testid="cloudlab-image"
          value={imageValue}
          title={titleOf(imageOptions, imageValue)}
          onChange={e => setImageId(e.currentTarget.value)}
          options={imageOptions}
        />
      </label>
      <div className="jp-CloudLab-row">
        <label className="jp-CloudLab-field jp-CloudLab-disk">
          <span>{trans.__('Disk (GiB)')}</span>
          <InputGroup
            data-testid="cloudlab-disk"
            type="number"
            min={8}
            max={16384}
            step={1}
            value={disk}
            onChange={e => setDisk(e.currentTarget.value)}
          />
        </label>
        <label className="jp-CloudLab-field jp-CloudLab-diskType">
          <span>{trans.__('Disk type')}</span>
          <HTMLSelect
            data-testid="cloudlab-disk-type"
            value={diskType}
            title={trans.__('The EBS volume type of the root disk')}
            onChange={e => setDiskType(e.currentTarget.value as DiskType)}
            options={DISK_TYPES.map(t => ({ value: t, label: t }))}
          />
        </label>
        <label
          className="jp-CloudLab-checkbox"
          title={trans.__(
            'Spot machines cost less but AWS can reclaim them at any time.'
          )}
        >
          <input
            data-testid="cloudlab-spot"
            type="checkbox"
            checked={spot}
            onChange={e => setSpot(e.currentTarget.checked)}
          />
          <span>{trans.__('Spot')}</span>
        </label>
      </div>
      {spot ? (
        <label
          className="jp-CloudLab-checkbox"
          title={trans.__(
            'On interruption AWS stops the machine (the disk stays) instead of terminating it, and starts it again when spot capacity returns.'
          )}
        >
          <input
            data-testid="cloudlab-spot-persistent"
            type="checkbox"
            checked={keep}
            onChange={e => setKeep(e.currentTarget.checked)}
          />
          <span>
            {trans.__('Keep (persistent spot, stops on interruption)')}
          </span>
        </label>
      ) : null}
      <LaunchLimitFields
        status={props.status}
        texts={limits}
        onChange={setLimits}
        trans={trans}
      />
      <Button
        data-testid="cloudlab-launch"
        className="jp-mod-styled jp-mod-accept"
        type="submit"
        disabled={!canLaunch}
      >
        {busy ? trans.__('Launching…') : trans.__('Launch')}
      </Button>
    </form>
  );
}
