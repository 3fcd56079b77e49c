import { LabIcon } from '@jupyterlab/ui-components';

import cloudSvgstr from '../style/icons/cloud.svg';

/** The CloudLab icon (side bar tab, launcher sections). */
export const cloudIcon = new LabIcon({
  name: 'jupyter-cloudlab:cloud',
  svgstr: cloudSvgstr
});
