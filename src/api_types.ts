/* eslint-disable */
// GENERATED from jupyter_cloudlab/openapi.yaml by scripts/api-types.mjs: do not edit.
// Regenerate with `jlpm build:api-types` (after `python -m jupyter_cloudlab.handlers.openapi`).
// src/tokens.ts names these types for the rest of src/.

export interface paths {
  '/status': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Where machines are launched (sandbox or AWS) and in which region. */
    get: operations['get_status'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/account': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    /**
     * Use this AWS profile and region (JupyterLab's settings).
     * @description Null means the server's configuration. Machines are detached, never stopped, and found again by their tags; a region where a machine was seen stays watched. The sandbox keeps its one region.
     */
    put: operations['put_account'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/catalog/instance-types': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Instance types that can be launched, with GPU, memory and price. */
    get: operations['get_catalog_instance_types'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/catalog/images': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Machine images (AMIs) offered for launch. */
    get: operations['get_catalog_images'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Every machine this extension manages. */
    get: operations['get_machines'];
    put?: never;
    /**
     * Launch a machine.
     * @description Returns at once; follow `state` until `ready`. The instance type and image are checked with EC2 first: bad input creates nothing.
     */
    post: operations['post_machines'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    /** One machine. */
    get: operations['get_machines_machine_id'];
    put?: never;
    post?: never;
    /** Terminate the machine (its disk is deleted). */
    delete: operations['delete_machines_machine_id'];
    options?: never;
    head?: never;
    /**
     * Change a machine's settings: its workspace mirror.
     * @description `mirror: false` stops mirroring notebooks' folders to the machine: its kernels' next cells run without a push. Kernels started meanwhile work in the machine's home.
     */
    patch: operations['patch_machines_machine_id'];
    trace?: never;
  };
  '/machines/{machine_id}/stop': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Stop the machine; compute billing ends, the disk stays. */
    post: operations['post_machines_machine_id_stop'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/start': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Start a stopped machine and reconnect to it. */
    post: operations['post_machines_machine_id_start'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/reboot': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Reboot a ready machine, then reconnect once it is back.
     * @description Its kernels end; notebooks stay on this computer.
     */
    post: operations['post_machines_machine_id_reboot'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/connection': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    /** The machine's tunnel (up, down, gone, refused, detached), since when, and its kernels. */
    get: operations['get_machines_machine_id_connection'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/retry': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Connect and bootstrap again a failed machine whose instance still runs. */
    post: operations['post_machines_machine_id_retry'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/resize': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Change a stopped machine's instance type.
     * @description 409 unless the machine is stopped; 400 for an unknown type or one whose architecture (x86_64, arm64) differs from the machine's image.
     */
    post: operations['post_machines_machine_id_resize'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/image': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Save a stopped machine's disk as an image (AMI) of yours.
     * @description Tagged as this computer's (image and snapshots); its snapshots are billed while kept (see `storage_usd_per_month`); `jupyter cloudlab sweep` removes them.
     */
    post: operations['post_machines_machine_id_image'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/dismiss': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Remove the row of a machine terminated from outside (its reason read). */
    post: operations['post_machines_machine_id_dismiss'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/guard': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    get?: never;
    /**
     * Set a ready machine's idle limit, budget, keep-alive or stop after the running cell.
     * @description Applied at once on the machine, kernels untouched; the machine enforces them itself, with this computer off. 409 unless the machine is ready; 503 when the machine did not take the change.
     */
    put: operations['put_machines_machine_id_guard'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/machines/{machine_id}/log': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    /**
     * The last lines of a running machine's server log.
     * @description Over SSH, as `jupyter cloudlab logs`; 409 unless its instance runs.
     */
    get: operations['get_machines_machine_id_log'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** @description The AWS profile and region picked in JupyterLab's settings (null: the server's). */
    AccountChoice: {
      /**
       * @default null
       * @example work-sso
       */
      profile?: string | null;
      /**
       * @default null
       * @example eu-west-1
       */
      region?: string | null;
    };
    /** @description One thing a machine is billed for (compute, a disk, the public IPv4 address). */
    CostLine: {
      /**
       * @example compute g5.xlarge spot us-east-1
       * @example EBS gp3 100 GB
       */
      what: string;
      /**
       * @description USD per hour; null: unknown.
       * @default null
       */
      per_hour: number | null;
      /**
       * @description USD per month, for what is priced by the month (EBS).
       * @default null
       */
      per_month: number | null;
    };
    /** @description Every 4xx/5xx reply of the REST API (handlers/base.py writes it). */
    ErrorReply: {
      /** @description A plain sentence that says what to do. */
      message: string;
      /**
       * @description The HTTP reason phrase.
       * @default null
       */
      reason: string | null;
    };
    Gpu: {
      /** @example NVIDIA */
      manufacturer: string;
      /** @example A10G */
      model: string;
      count: number;
      /** @description Memory of one GPU. */
      memory_gib: number;
    };
    /**
     * @description `PUT /machines/{id}/guard`: the machine's idle limit, budget, keep-alive, stop after cell
     *     (each optional; applied live, kernels untouched).
     */
    GuardChange: {
      /**
       * @description Minutes of idleness before it powers off; 0: never. The panel sends whole minutes; fractions are for tests.
       * @default null
       */
      idle_minutes?: number | null;
      /**
       * @description "Stop at $X" since launch; 0: no budget.
       * @default null
       */
      budget_usd?: number | null;
      /**
       * @description "Keep running until": no idle stop before this time.
       * @default null
       */
      keep_until?: string | null;
      /**
       * @description Stop as soon as the running cell finishes.
       * @default null
       */
      stop_after_cell?: boolean | null;
    };
    /** @description The machine's guard, as it last answered: idleness, the planned stop, keep-alive. */
    IdleStatus: {
      /**
       * @description Idle since then; null while busy (a cell, a terminal, a GPU).
       * @default null
       */
      idle_since: string | null;
      /**
       * @description When it stops if nothing changes (idle limit or deadline).
       * @default null
       */
      stops_at: string | null;
      /**
       * @description "Keep running until": no idle stop before then.
       * @default null
       */
      keep_until: string | null;
      /**
       * @description It stops as soon as no cell runs.
       * @default false
       */
      stop_after_cell: boolean;
      /** @description Why it is not idle now. */
      busy: string[];
      /**
       * @description A sentence when it stops within 5 minutes.
       * @default null
       */
      warning: string | null;
      /**
       * @description EC2's spot interruption notice, when one came: a sentence.
       * @default null
       */
      spot_notice: string | null;
    };
    ImageList: {
      images: components['schemas']['ImageModel'][];
    };
    /** @description A machine image (AMI) offered for launch. */
    ImageModel: {
      /** @example ami-0123456789abcdef0 */
      id: string;
      name: string;
      /** @default  */
      description: string;
      /** @example x86_64 */
      architecture: string;
      /** @example ubuntu */
      ssh_user: string;
      /** @example deep-learning */
      family: string;
      /**
       * @description Saved from one of this computer's machines ("yours").
       * @default false
       */
      ours: boolean;
      /**
       * @description pending while AWS still saves it.
       * @default available
       */
      state: string;
      /**
       * @description Size of its snapshots (ours only), billed while kept.
       * @default null
       */
      snapshot_gib: number | null;
      /**
       * @description Estimated cost of keeping it (ours only): snapshot GiB × the snapshot price.
       * @default null
       */
      storage_usd_per_month: number | null;
      /**
       * @description What the estimate assumes, with its date.
       * @default null
       * @example estimate: $0.05 per GB-month of snapshot (us-east-1, 2026-11)
       */
      storage_price_note: string | null;
    };
    /** @description `POST /machines/{id}/image`: save the stopped machine's disk as an image of ours. */
    ImageRequest: {
      /**
       * @description The image's name (AMI names are unique per account and region).
       * @example torch-env-2026-12
       */
      name: string;
      /**
       * @description What it holds, in your words; CloudLab adds the base image, instance type and date.
       * @default
       */
      description?: string;
    };
    InstanceTypeList: {
      instance_types: components['schemas']['InstanceTypeModel'][];
    };
    /** @description An instance type that can be launched, with its GPUs and prices. */
    InstanceTypeModel: {
      /** @example g5.xlarge */
      name: string;
      vcpus: number;
      memory_gib: number;
      /** @example x86_64 */
      architecture: string;
      /** @default null */
      gpu: components['schemas']['Gpu'] | null;
      /**
       * @description On-demand USD per hour.
       * @default null
       */
      price_per_hour: number | null;
      /**
       * @description Lowest current spot USD per hour in the region.
       * @default null
       */
      spot_price_per_hour: number | null;
      /**
       * @description "api" (the AWS Pricing API) or "snapshot (YYYY-MM)" (prices shipped with us).
       * @default snapshot
       * @example snapshot (2026-11)
       */
      price_source: string;
    };
    LaunchRequest: {
      /**
       * @description Defaults to the instance type.
       * @default null
       */
      name?: string | null;
      /** @example g5.xlarge */
      instance_type: string;
      /**
       * @description An AMI id such as ami-0123456789abcdef0.
       * @example ami-0123456789abcdef0
       */
      image_id: string;
      /**
       * @description Root disk size in GiB.
       * @default 100
       */
      disk_gib?: number;
      /**
       * @description The root disk's EBS volume type.
       * @default gp3
       * @enum {string}
       */
      disk_type?: 'gp3' | 'gp2' | 'io1' | 'io2';
      /** @default false */
      spot?: boolean;
      /**
       * @description Spot only: on interruption AWS stops the machine and starts it again later.
       * @default false
       */
      spot_persistent?: boolean;
      /**
       * @description Login on the machine; defaults to the image family's (ubuntu / ec2-user).
       * @default null
       */
      ssh_user?: string | null;
      /**
       * @description Mirror each notebook's folder to the machine (the kernel works beside its files); false: kernels work in the machine's home, with none of the notebook's files.
       * @default true
       */
      mirror?: boolean;
      /**
       * @description Minutes of idleness after which the machine powers itself off; 0: never; null: the server's default (Status.default_idle_minutes). Sent to the machine once, when it is first ready; later it is the machine's own (its row, or `jupyter cloudlab idle`, change it).
       * @default null
       */
      idle_minutes?: number | null;
      /**
       * @description "Stop at $X": USD since launch at which the machine stops itself, even if busy; 0: no budget; null: the server's default (Status.default_budget_usd).
       * @default null
       */
      budget_usd?: number | null;
    };
    /** @description A machine as the REST API returns it. */
    Machine: {
      /**
       * @description Our id for the machine.
       * @example m-1a2b3c4d
       */
      id: string;
      /**
       * @description The EC2 instance id, once known.
       * @default null
       */
      instance_id: string | null;
      name: string;
      /** @example g5.xlarge */
      instance_type: string;
      image_id: string;
      region: string;
      /** @default false */
      spot: boolean;
      state: components['schemas']['MachineState'];
      /**
       * Format: date-time
       * @description When the machine entered its state.
       */
      state_since: string;
      /** @default null */
      launched_at: string | null;
      /**
       * @description Failed: what went wrong and what to do; else the step under way.
       * @default null
       */
      message: string | null;
      /**
       * @description The public address (host:port) SSH reaches.
       * @default null
       */
      address: string | null;
      /**
       * @default CPU
       * @example A10G 24 GB
       * @example CPU
       */
      gpu_label: string;
      /**
       * @description Compute USD per hour in its region for its purchase option (on-demand or spot); see price_source.
       * @default null
       */
      price_per_hour: number | null;
      /** @description Names of this machine's kernelspecs in the local /api/kernelspecs. */
      kernelspecs: string[];
      /**
       * @description Whether notebooks' folders are mirrored to the machine (see LaunchRequest).
       * @default true
       */
      mirror: boolean;
      /**
       * @description The machine's folder that holds the mirrored folders, once connected.
       * @default null
       * @example ~/cloudlab/work
       */
      workspace: string | null;
      /** @description What the user may ask of the machine in its current state; the panel's buttons come from here. */
      actions: components['schemas']['MachineAction'][];
      /**
       * @description Why the machine stopped or was terminated, when not by our Stop or Terminate (idle stop, budget, spot interruption, the AWS console or CLI): a sentence.
       * @default null
       */
      stop_reason: string | null;
      /**
       * @description EC2's state of the instance when CloudLab last looked (at a failure, a stop seen from outside): a failed machine that is running can be retried.
       * @default null
       * @example running
       */
      instance_state: string | null;
      /**
       * @description Where price_per_hour comes from: "api" (the AWS Pricing API), "snapshot us-east-1 (2026-11)", "spot price at launch", or why it is unknown.
       * @default
       * @example spot price at launch
       */
      price_source: string;
      /**
       * @description USD per hour while it runs: compute, EBS and the public IPv4 address.
       * @default null
       */
      hourly_cost: number | null;
      /**
       * @description USD per month its disks cost, running or stopped.
       * @default null
       */
      stopped_cost_per_month: number | null;
      /**
       * @description USD billed since its launch (from EC2's times; survives restarts), when this reply was made; null when a price is unknown.
       * @default null
       */
      spent_usd: number | null;
      /**
       * @description USD billed since midnight (this server's time zone).
       * @default null
       */
      spent_today_usd: number | null;
      /** @description What makes up its cost. */
      cost_lines: components['schemas']['CostLine'][];
      /**
       * @description Minutes of idleness after which the machine powers itself off (0: never): its launch's from the start, then as its guard says; null: not known yet.
       * @default null
       */
      idle_minutes: number | null;
      /**
       * @description "Stop at $X": USD since launch at which the machine stops itself, even if busy; 0: none, chosen; null: none set (the server's default budget is given to it at its start).
       * @default null
       */
      budget_usd: number | null;
      /**
       * @description The machine's own deadline from its budget (spent, hourly cost): it stops then even with the laptop closed.
       * @default null
       */
      stop_at: string | null;
      /**
       * @description What the machine's guard last said (ready machines only).
       * @default null
       */
      idle: components['schemas']['IdleStatus'] | null;
    };
    /**
     * @description What a user may ask of a machine (see machines/transitions.py for when).
     * @enum {string}
     */
    MachineAction:
      | 'stop'
      | 'start'
      | 'reboot'
      | 'terminate'
      | 'retry'
      | 'resize'
      | 'image'
      | 'dismiss';
    /** @description What a user may change on a machine: `PATCH /machines/{id}`. */
    MachineChange: {
      /**
       * @description Turn the workspace mirror on or off (null: unchanged).
       * @default null
       */
      mirror?: boolean | null;
    };
    /** @description A machine's tunnel (see TunnelState), since when, and its kernels. */
    MachineConnection: {
      machine_id: string;
      tunnel: components['schemas']['TunnelState'];
      /** @description When the tunnel entered this state; null if never connected. */
      since: string | null;
      /** @description Ids of the machine's kernels this server lists. */
      kernels: string[];
    };
    MachineList: {
      machines: components['schemas']['Machine'][];
    };
    /** @description The last lines of a running machine's server log (`~/.cloudlab/gateway.log`). */
    MachineLog: {
      machine_id: string;
      /** @description How many lines were asked for. */
      lines: number;
      /** @description The log's last lines, at most 1 MiB of them. */
      text: string;
    };
    /** @enum {string} */
    MachineState:
      | 'requesting'
      | 'pending'
      | 'connecting'
      | 'bootstrapping'
      | 'ready'
      | 'stopping'
      | 'stopped'
      | 'starting'
      | 'rebooting'
      | 'terminating'
      | 'terminated'
      | 'failed';
    /** @description `POST /machines/{id}/resize`: the stopped machine's new instance type. */
    ResizeRequest: {
      /** @example g5.2xlarge */
      instance_type: string;
    };
    /**
     * @description Where machines are launched (the sandbox or AWS), in which region, with which profile,
     *     and the idle limit and budget a launch gets when it names none.
     */
    Status: {
      /** @enum {string} */
      mode: 'sandbox' | 'aws';
      /** @example us-east-1 */
      region: string;
      /** @default null */
      profile: string | null;
      /**
       * @description A sentence for the panel, e.g. why the sandbox is used.
       * @default
       */
      message: string;
      /**
       * @description Why machine kernels are off (another package's kernel classes).
       * @default
       */
      kernel_classes: string;
      /**
       * @description The idle limit (minutes) of a machine whose launch names none (`c.CloudLab.idle_minutes`); 0: never.
       * @default 30
       */
      default_idle_minutes: number;
      /**
       * @description The budget (USD since launch) of a machine whose launch names none (`c.CloudLab.default_budget_usd`); 0: none.
       * @default 0
       */
      default_budget_usd: number;
    };
    /**
     * @description A machine's tunnel: one vocabulary from the SSH layer to the panel.
     * @enum {string}
     */
    TunnelState: 'up' | 'down' | 'gone' | 'refused' | 'detached';
  };
  responses: {
    /** @description The request is wrong; the message names what to fix. */
    Error400: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ErrorReply'];
      };
    };
    /** @description AWS credentials are missing or expired. */
    Error401: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ErrorReply'];
      };
    };
    /** @description Not allowed: no Jupyter token, or AWS (IAM, an account quota) refused. */
    Error403: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ErrorReply'];
      };
    };
    /** @description No such machine (or instance, image). */
    Error404: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ErrorReply'];
      };
    };
    /** @description The machine's state does not allow this now; the message says which state it is in. */
    Error409: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ErrorReply'];
      };
    };
    /** @description Something on the machine or in AWS failed; the message says what. */
    Error502: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ErrorReply'];
      };
    };
    /** @description CloudLab is not running (yet), or AWS is unavailable: try again later. */
    Error503: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ErrorReply'];
      };
    };
  };
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  get_status: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Backend status. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Status'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      503: components['responses']['Error503'];
    };
  };
  put_account: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['AccountChoice'];
      };
    };
    responses: {
      /** @description The status under the chosen account. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Status'];
        };
      };
      400: components['responses']['Error400'];
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      503: components['responses']['Error503'];
    };
  };
  get_catalog_instance_types: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The catalog. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['InstanceTypeList'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      503: components['responses']['Error503'];
    };
  };
  get_catalog_images: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The images. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ImageList'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      503: components['responses']['Error503'];
    };
  };
  get_machines: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The machines. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['MachineList'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      503: components['responses']['Error503'];
    };
  };
  post_machines: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['LaunchRequest'];
      };
    };
    responses: {
      /** @description Launch accepted. */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      400: components['responses']['Error400'];
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      503: components['responses']['Error503'];
    };
  };
  get_machines_machine_id: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The machine. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      503: components['responses']['Error503'];
    };
  };
  delete_machines_machine_id: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Termination accepted. */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      502: components['responses']['Error502'];
      503: components['responses']['Error503'];
    };
  };
  patch_machines_machine_id: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['MachineChange'];
      };
    };
    responses: {
      /** @description The machine, changed. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      400: components['responses']['Error400'];
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      503: components['responses']['Error503'];
    };
  };
  post_machines_machine_id_stop: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Stop accepted. */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      502: components['responses']['Error502'];
      503: components['responses']['Error503'];
    };
  };
  post_machines_machine_id_start: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Start accepted. */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      502: components['responses']['Error502'];
      503: components['responses']['Error503'];
    };
  };
  post_machines_machine_id_reboot: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Reboot accepted. */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      502: components['responses']['Error502'];
      503: components['responses']['Error503'];
    };
  };
  get_machines_machine_id_connection: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The connection status (also sent as the connection event). */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['MachineConnection'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      503: components['responses']['Error503'];
    };
  };
  post_machines_machine_id_retry: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Retry accepted. */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      502: components['responses']['Error502'];
      503: components['responses']['Error503'];
    };
  };
  post_machines_machine_id_resize: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['ResizeRequest'];
      };
    };
    responses: {
      /** @description The machine, with its new type and price. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      400: components['responses']['Error400'];
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      502: components['responses']['Error502'];
      503: components['responses']['Error503'];
    };
  };
  post_machines_machine_id_image: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['ImageRequest'];
      };
    };
    responses: {
      /** @description The image, pending until AWS has saved it; then offered for launch. */
      202: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ImageModel'];
        };
      };
      400: components['responses']['Error400'];
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      502: components['responses']['Error502'];
      503: components['responses']['Error503'];
    };
  };
  post_machines_machine_id_dismiss: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The machines left. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['MachineList'];
        };
      };
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      503: components['responses']['Error503'];
    };
  };
  put_machines_machine_id_guard: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['GuardChange'];
      };
    };
    responses: {
      /** @description The machine, with what its guard now says (`idle`, `stop_at`). */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Machine'];
        };
      };
      400: components['responses']['Error400'];
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      503: components['responses']['Error503'];
    };
  };
  get_machines_machine_id_log: {
    parameters: {
      query?: {
        lines?: number;
      };
      header?: never;
      path: {
        machine_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['MachineLog'];
        };
      };
      400: components['responses']['Error400'];
      401: components['responses']['Error401'];
      403: components['responses']['Error403'];
      404: components['responses']['Error404'];
      409: components['responses']['Error409'];
      503: components['responses']['Error503'];
    };
  };
}
