import { launchRequest, pick } from '../defaults';
import {
  connectionLabel,
  formatCost,
  formatElapsed,
  formatPrice,
  instanceTypeLabel,
  priceSourceNote
} from '../widgets/format';
import { FakeAPI, instanceType, trans } from './fakes';

const A10G = {
  manufacturer: 'NVIDIA',
  model: 'A10G',
  count: 1,
  memory_gib: 24
};
const G5 = instanceType({
  name: 'g5.xlarge',
  vcpus: 4,
  memory_gib: 16,
  gpu: A10G
});

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
    // Whole amounts keep no dangling decimal point
    expect(formatPrice(2, trans)).toBe('$2/h');
    expect(formatPrice(0.5, trans)).toBe('$0.5/h');
    expect(formatPrice(0.00001, trans)).toBe('$0.00001/h');
    expect(formatPrice(0, trans)).toBe('$0/h');
  });

  it('labels an instance type with vCPU, memory, GPU and price', () => {
    expect(
      instanceTypeLabel(
        instanceType({
          name: 'g5.xlarge',
          vcpus: 4,
          memory_gib: 16,
          gpu: A10G,
          price_per_hour: 1.006
        }),
        trans
      )
    ).toBe('g5.xlarge · 4 vCPU · 16 GiB · 1× A10G 24 GiB · $1.006/h');
    expect(
      instanceTypeLabel(
        instanceType({ name: 't3.small', vcpus: 2, memory_gib: 2 }),
        trans
      )
    ).toBe('t3.small · 2 vCPU · 2 GiB · CPU');
  });

  it('shows on-demand and spot prices, marking snapshot prices', () => {
    const prices = { price_per_hour: 1.006, spot_price_per_hour: 0.3018 };
    expect(
      instanceTypeLabel({ ...G5, ...prices, price_source: 'api' }, trans)
    ).toBe(
      'g5.xlarge · 4 vCPU · 16 GiB · 1× A10G 24 GiB · $1.006/h · spot $0.3018/h'
    );
    expect(
      instanceTypeLabel(
        { ...G5, ...prices, price_source: 'snapshot (2026-11)' },
        trans
      )
    ).toBe(
      'g5.xlarge · 4 vCPU · 16 GiB · 1× A10G 24 GiB · $1.006/h (2026-11 list price) · spot $0.3018/h'
    );
    // Spot known, on-demand not: no note without the price it is about
    expect(
      instanceTypeLabel(
        { ...G5, spot_price_per_hour: 0.5, price_source: 'snapshot' },
        trans
      )
    ).toBe('g5.xlarge · 4 vCPU · 16 GiB · 1× A10G 24 GiB · spot $0.5/h');
  });

  it('names where a price comes from unless it is the API', () => {
    expect(priceSourceNote('api', trans)).toBe('');
    expect(priceSourceNote(undefined, trans)).toBe('');
    expect(priceSourceNote('snapshot (2026-11)', trans)).toBe(
      '2026-11 list price'
    );
    expect(priceSourceNote('snapshot', trans)).toBe('list price');
  });

  it('formats the cost so far as approximate', () => {
    expect(formatCost(2.515, trans)).toBe('≈ $2.52 so far');
    expect(formatCost(0.42, trans)).toBe('≈ $0.42 so far');
    expect(formatCost(0.0017, trans)).toBe('≈ $0.002 so far');
    expect(formatCost(0, trans)).toBe('≈ $0.000 so far');
    expect(formatCost(null, trans)).toBe('');
  });

  it('names tunnel states', () => {
    expect(connectionLabel('up', trans)).toBe('connected');
    expect(connectionLabel('down', trans)).toBe('reconnecting…');
    expect(connectionLabel('gone', trans)).toBe('unreachable');
    expect(connectionLabel('detached', trans)).toBe('not connected');
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

  it('passes the disk type and persistent spot through', () => {
    const api = new FakeAPI();
    const model = {
      instanceTypes: api.instanceTypes,
      images: api.images
    } as any;
    const defaults = { instanceType: '', imageId: '', diskGib: 50 };

    expect(
      launchRequest(
        model,
        { disk_type: 'io2', spot: true, spot_persistent: true },
        defaults
      )
    ).toMatchObject({ disk_type: 'io2', spot: true, spot_persistent: true });
    // Persistent means nothing without spot; unknown disk types are dropped
    const onDemand = launchRequest(
      model,
      { disk_type: 'floppy', spot: false, spot_persistent: true },
      defaults
    );
    expect(onDemand).not.toHaveProperty('disk_type');
    expect(onDemand).not.toHaveProperty('spot_persistent');
  });

  it("passes the form's idle stop and budget through, else leaves the server's", () => {
    const api = new FakeAPI();
    const model = {
      instanceTypes: api.instanceTypes,
      images: api.images
    } as any;
    const defaults = { instanceType: '', imageId: '', diskGib: 50 };

    expect(
      launchRequest(model, { idle_minutes: 7, budget_usd: 2.5 }, defaults)
    ).toMatchObject({ idle_minutes: 7, budget_usd: 2.5 });
    expect(
      launchRequest(model, { idle_minutes: 0, budget_usd: 0 }, defaults)
    ).toMatchObject({ idle_minutes: 0, budget_usd: 0 });
    // The palette's launch names neither; nonsense is left out too
    const palette = launchRequest(model, {}, defaults);
    expect(palette).not.toHaveProperty('idle_minutes');
    expect(palette).not.toHaveProperty('budget_usd');
    const nonsense = launchRequest(
      model,
      { idle_minutes: 7.5, budget_usd: -1 },
      defaults
    );
    expect(nonsense).not.toHaveProperty('idle_minutes');
    expect(nonsense).not.toHaveProperty('budget_usd');
  });
});
