import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { DISK_TYPES, DiskType, ICloudLabModel, ILaunchRequest } from './tokens';

/** Defaults of the launch form and command, from the settings. */
export interface ILaunchDefaults {
  /** Preferred instance type; the first offered when empty or not offered. */
  instanceType: string;
  /** Preferred image id; the first offered when empty or not offered. */
  imageId: string;
  diskGib: number;
}

/** The launch request from command arguments, filling gaps with defaults. */
export function launchRequest(
  model: ICloudLabModel,
  args: ReadonlyPartialJSONObject,
  defaults: ILaunchDefaults
): ILaunchRequest {
  const instanceType =
    stringArg(args.instance_type) ||
    pick(
      model.instanceTypes.map(t => t.name),
      defaults.instanceType
    );
  const imageId =
    stringArg(args.image_id) ||
    pick(
      model.images.map(i => i.id),
      defaults.imageId
    );
  const request: ILaunchRequest = {
    instance_type: instanceType,
    image_id: imageId,
    disk_gib:
      typeof args.disk_gib === 'number' ? args.disk_gib : defaults.diskGib,
    spot: args.spot === true
  };
  const diskType = stringArg(args.disk_type);
  if (DISK_TYPES.includes(diskType as DiskType)) {
    request.disk_type = diskType as DiskType;
  }
  if (request.spot && args.spot_persistent === true) {
    request.spot_persistent = true;
  }
  // Left out: the server's defaults (the palette's launch); 0: never / none.
  const idle = args.idle_minutes;
  if (typeof idle === 'number' && Number.isInteger(idle) && idle >= 0) {
    request.idle_minutes = idle;
  }
  const budget = args.budget_usd;
  if (typeof budget === 'number' && Number.isFinite(budget) && budget >= 0) {
    request.budget_usd = budget;
  }
  const name = stringArg(args.name).trim();
  if (name) {
    request.name = name;
  }
  return request;
}

/** The preferred value when offered, else the first offered, else ''. */
export function pick(offered: string[], preferred: string): string {
  if (preferred && offered.includes(preferred)) {
    return preferred;
  }
  return offered[0] ?? '';
}

function stringArg(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
