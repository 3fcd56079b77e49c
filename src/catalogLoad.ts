import { ICloudLabAPI, IImage, IInstanceType, IStatus } from './tokens';

/** What one load of the catalog brought; what failed is left out. */
export interface ICatalog {
  status?: IStatus;
  instanceTypes?: IInstanceType[];
  images?: IImage[];
  /** The first failure, when a part did not load (the catalog loads again). */
  failure?: unknown;
}

/**
 * The server status, instance types and images, fetched together; a part
 * that fails leaves the others usable.
 */
export async function loadCatalog(api: ICloudLabAPI): Promise<ICatalog> {
  const [status, types, images] = await Promise.allSettled([
    api.getStatus(),
    api.listInstanceTypes(),
    api.listImages()
  ]);
  const failed = [status, types, images].find(r => r.status === 'rejected');
  return {
    status: status.status === 'fulfilled' ? status.value : undefined,
    instanceTypes: types.status === 'fulfilled' ? types.value : undefined,
    images: images.status === 'fulfilled' ? images.value : undefined,
    failure: failed ? (failed as PromiseRejectedResult).reason : undefined
  };
}
