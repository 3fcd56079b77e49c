"""What the tests share, each module named after what it holds; no tests here.

Fixtures (pytest plugins, listed in tests/conftest.py): ``moto_fixtures`` (a moto EC2 server per
module, an empty account per test), ``hang_report`` (where asyncio tasks wait near a timeout).

The local server: ``rest_api`` (its REST API, as the panel calls it), ``sandbox_ec2`` (what the
sandbox's EC2 holds), ``cli_process`` (``jupyter cloudlab`` as a separate process),
``kernel_channel`` (a kernel websocket client, v1 or legacy), ``orchestrator_stand_in`` (a server
extension that registers one machine server).

Machines: ``machine_server`` (a real machine jupyter_server as a process), ``ssh_machines`` (a
sandbox machine behind real sshd), ``systemd_machine`` (one that boots systemd),
``host_processes`` (this host's processes, from /proc), ``sshd_cut`` (cut a sandbox machine's
link by stopping its sshd).

The cloud layer: ``moto_cloud`` (moto's server, error injection, a plain boto3 client),
``call_gate`` (hold one EC2 call just before it is sent, to put another command there),
``launch_process`` (another process of this computer launching against moto).

Concurrency scenarios: ``settled`` (every machine settled in a state the panel can explain, and
nothing orphaned by the sweep's own listing and by EC2's own view).

Real link cuts: ``linked_namespaces`` (two network namespaces and a veth pair),
``netns_machine`` (sshd in one of them) and ``netns_laptop`` (the laptop process in the other).
"""
