"""`jupyter cloudlab` reads the server's configuration: c.CloudLab in jupyter_server_config and
--CloudLab.* options, so it looks where the server looks (its own flags still win)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.cloud import access, instances
from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.moto_cloud import (
    GROUP,
    OWNER,
    PUBLIC_KEY,
    make_orchestrator,
    register_image,
    spec,
)


async def test_list_finds_machines_where_the_server_config_says(
    ec2: AwsClient,
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given this computer's machine in us-east-1, made by a server with its own data folder
    data_dir = tmp_path / "cloudlab-data"
    image = register_image(url, "Ubuntu 24.04 test")
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP, OWNER)
    info = await instances.launch(ec2, spec(image, key_name=key, security_group_id=group))
    await make_orchestrator(ec2, data_dir).close()  # writes this computer's key there
    # And the server's config naming that endpoint, region and data folder
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text(
        f"c.CloudLab.endpoint_url = {url!r}\n"
        "c.CloudLab.region = 'us-east-1'\n"
        f"c.CloudLab.data_dir = {str(data_dir)!r}\n"
    )
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    def listed(*words: str) -> str:
        capsys.readouterr()
        assert cli.main(["list", *words]) == 0
        return capsys.readouterr().out

    # When `list` runs with no options, Then it finds the machine (endpoint, data folder: config)
    assert info.instance_id in await asyncio.to_thread(listed)
    # And a --CloudLab option as the server takes it moves it to another region, where none is
    assert info.instance_id not in await asyncio.to_thread(listed, "--CloudLab.region=eu-west-1")
    # And the command's own --region wins over the config files
    assert info.instance_id not in await asyncio.to_thread(listed, "--region", "eu-west-1")
