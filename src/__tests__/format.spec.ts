import { launchRequest, pick } from '../defaults';
import {
  formatElapsed,
  formatPrice,
  instanceTypeLabel
} from '../widgets/format';
import { FakeAPI, trans } from './fakes';

describe('format', () => {
  it('formats elapsed times', () => {
    expect(formatElapsed(12_400, trans)).toBe('12 s');
    expect(formatElapsed(184_000, trans)).toBe('3 min 4 s');
    expect(formatElapsed(7_500_000, trans)).toBe('2 h 5 min');
    expect(formatElapsed(-5, trans)).toBe('0 s');
  });

  it('formats prices', () => {
    expect(formatPrice(1.006, trans)).toBe('$1.006/h');
    expect(formatPrice(0.0208, trans)).toBe('$0.0208/h');
    expect(formatPrice(null, trans)).toBe('');
  });

  it('labels an instance type with vCPU, memory, GPU and price', () => {
    expect(
      instanceTypeLabel(
        {
          name: 'g5.xlarge',
          vcpus: 4,
          memory_gib: 16,
          architecture: 'x86_64',
          gpu: { model: 'A10G', count: 1, memory_gib: 24 },
          price_per_hour: 1.006
        },
        trans
      )
    ).toBe('g5.xlarge · 4 vCPU · 16 GiB · 1× A10G 24 GiB · $1.006/h');
    expect(
      instanceTypeLabel(
        { name: 't3.small', vcpus: 2, memory_gib: 2, architecture: 'x86_64' },
        trans
      )
    ).toBe('t3.small · 2 vCPU · 2 GiB · CPU');
  });
});

describe('defaults', () => {
  it('picks the preferred value when offered, else the first', () => {
    expect(pick(['a', 'b'], 'b')).toBe('b');
    expect(pick(['a', 'b'], 'z')).toBe('a');
    expect(pick([], 'z')).toBe('');
  });

  it('fills a launch request from the catalog and the settings', () => {
    const api = new FakeAPI();
    const model = {
      instanceTypes: api.instanceTypes,
      images: api.images
    } as any;

    expect(
      launchRequest(
        model,
        { name: ' box ' },
        { instanceType: '', imageId: '', diskGib: 50 }
      )
    ).toEqual({
      name: 'box',
      instance_type: 't3.small',
      image_id: 'ami-12345678',
      disk_gib: 50,
      spot: false
    });
  });
});
