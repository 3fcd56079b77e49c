"""Replays what the code asked of AWS against `iam-policy.json`, conditions included, offline.

A recorder wraps `AwsClient.call` and `AwsClient.paginate`: for each request it writes down what
IAM would authorize (action, resource ARN, condition keys of the request context), looking up the
tags of existing resources in EC2 (moto) at the moment of the call, as IAM would. `evaluate`
then checks each against the policy's Allow statements, with the few condition operators and
policy variables the policy uses. It models the resources our calls involve, not all of IAM:
enough to fail when a launch goes untagged, a parameter outside /aws/service/ is read, or a
change reaches a resource another principal made.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.moto_cloud import boto

POLICY = Path(__file__).parent.parent.parent / "iam-policy.json"
# Operations AWS answers whatever the policy says.
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
Context = dict[str, str]


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on one resource, in a request context."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements() -> list[dict[str, Any]]:
    policy = json.loads(POLICY.read_text())
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    return list(policy["Statement"])


def _condition_holds(operator: str, key: str, expected: list[str], context: Context) -> bool:
    value = context.get(key)
    if operator == "StringEquals":
        return value is not None and value in expected
    if operator == "StringLike":
        return value is not None and any(fnmatch.fnmatchcase(value, e) for e in expected)
    if operator == "Null":
        return (value is None) == (expected == ["true"])
    raise AssertionError(f"the replay does not model the operator {operator}")


def allowing(request: Request, variables: dict[str, str]) -> list[str]:
    """The Sids of the statements that allow `request` (none: refused)."""

    def resolve(text: str) -> str:
        for name, value in variables.items():
            text = text.replace("${" + name + "}", value)
        return text

    found: list[str] = []
    for statement in statements():
        actions = _as_list(statement["Action"])
        if not any(fnmatch.fnmatch(request.action.lower(), a.lower()) for a in actions):
            continue
        resources = _as_list(statement["Resource"])
        if not any(fnmatch.fnmatchcase(request.resource, r) for r in resources):
            continue
        if all(
            _condition_holds(
                operator, key, [resolve(e) for e in _as_list(expected)], request.context
            )
            for operator, keys in statement.get("Condition", {}).items()
            for key, expected in keys.items()
        ):
            found.append(statement.get("Sid", "?"))
    return found


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def _resource_tags(tags: dict[str, str]) -> Context:
    return {f"aws:ResourceTag/{key}": value for key, value in tags.items()}


def _request_tags(specs: list[dict[str, Any]], kind: str) -> Context:
    tags = [t for s in specs if s["ResourceType"] == kind for t in s["Tags"]]
    return {f"aws:RequestTag/{t['Key']}": t["Value"] for t in tags}


class Recorder:
    """What IAM would authorize for every request the code makes against one moto server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[Request] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        """(service:Operation, parameters) of every call, as sent."""

    def _arn(self, region: str, kind: str, name: str, account: bool = True) -> str:
        return f"arn:aws:ec2:{region}:{'123456789012' if account else ''}:{kind}/{name}"

    def record(self, client: AwsClient, method: str, params: dict[str, Any]) -> None:
        api = client.client.meta.method_to_api_mapping[method]
        action = f"{client.service}:{api}"
        self.calls.append((action, params))
        self.requests += self._authorizations(client.region, action, params)

    def _authorizations(self, region: str, action: str, params: dict[str, Any]) -> list[Request]:
        ec2 = boto(self.url, region=region)
        arn = self._arn
        if action == "ssm:GetParameters":
            return [
                Request(action, f"arn:aws:ssm:{region}::parameter{name}")
                for name in params["Names"]
            ]
        if action == "ec2:CreateImage":
            return self._create_image(region, action, params)
        if action in ("ec2:DeregisterImage", "ec2:DeleteSnapshot"):
            return self._image_or_snapshot(region, action, params)
        instance_ids = params.get("InstanceIds") or (
            [params["InstanceId"]] if "InstanceId" in params else []
        )
        if instance_ids and not action.startswith("ec2:Describe"):
            reply = ec2.describe_instances(InstanceIds=instance_ids)
            return [
                Request(action, arn(region, "instance", i["InstanceId"]), _resource_tags(_tags(i)))
                for r in reply["Reservations"]
                for i in r["Instances"]
            ]
        if action in (
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:DeleteSecurityGroup",
        ):
            [group] = ec2.describe_security_groups(GroupIds=[params["GroupId"]])["SecurityGroups"]
            return [
                Request(
                    action,
                    arn(region, "security-group", group["GroupId"]),
                    _resource_tags(_tags(group)),
                )
            ]
        if action == "ec2:DeleteKeyPair":
            [pair] = ec2.describe_key_pairs(KeyNames=[params["KeyName"]])["KeyPairs"]
            return [
                Request(
                    action, arn(region, "key-pair", pair["KeyName"]), _resource_tags(_tags(pair))
                )
            ]
        if action == "ec2:DeleteVolume":
            volumes = ec2.describe_volumes(
                Filters=[{"Name": "volume-id", "Values": [params["VolumeId"]]}]
            )["Volumes"]
            return [
                Request(action, arn(region, "volume", v["VolumeId"]), _resource_tags(_tags(v)))
                for v in volumes
            ]
        if action == "ec2:ImportKeyPair":
            return self._created(region, action, params, [("key-pair", "key-pair")])
        if action == "ec2:CreateSecurityGroup":
            return [
                *self._created(region, action, params, [("security-group", "security-group")]),
                Request(action, arn(region, "vpc", "vpc-default")),
            ]
        if action == "ec2:RunInstances":
            return self._run_instances(region, action, params)
        return [Request(action, "*")]

    def _created(
        self, region: str, action: str, params: dict[str, Any], kinds: list[tuple[str, str]]
    ) -> list[Request]:
        """Creating with tags: the action on the new resources (their request tags), and
        ec2:CreateTags on them from that action."""
        specs = params.get("TagSpecifications", [])
        requests: list[Request] = []
        for kind, tag_kind in kinds:
            tags = _request_tags(specs, tag_kind)
            resource = self._arn(region, kind, "new")
            requests.append(Request(action, resource, tags))
            if tags:
                create = {**tags, "ec2:CreateAction": action.split(":")[1]}
                requests.append(Request("ec2:CreateTags", resource, create))
        return requests

    def _create_image(self, region: str, action: str, params: dict[str, Any]) -> list[Request]:
        """On the instance (its tags), and on the new image and snapshot (request tags)."""
        ec2 = boto(self.url, region=region)
        reply = ec2.describe_instances(InstanceIds=[params["InstanceId"]])
        [instance] = [i for r in reply["Reservations"] for i in r["Instances"]]
        arn = self._arn(region, "instance", instance["InstanceId"])
        requests = [Request(action, arn, _resource_tags(_tags(instance)))]
        for kind in ("image", "snapshot"):
            tags = _request_tags(params.get("TagSpecifications", []), kind)
            resource = self._arn(region, kind, "new", account=False)
            requests.append(Request(action, resource, tags))
            if tags:
                create = {**tags, "ec2:CreateAction": "CreateImage"}
                requests.append(Request("ec2:CreateTags", resource, create))
        return requests

    def _image_or_snapshot(self, region: str, action: str, params: dict[str, Any]) -> list[Request]:
        ec2 = boto(self.url, region=region)
        if action == "ec2:DeregisterImage":
            found = ec2.describe_images(ImageIds=[params["ImageId"]])["Images"]
            kind, key = "image", "ImageId"
        else:
            found = ec2.describe_snapshots(SnapshotIds=[params["SnapshotId"]])["Snapshots"]
            kind, key = "snapshot", "SnapshotId"
        return [
            Request(
                action, self._arn(region, kind, r[key], account=False), _resource_tags(_tags(r))
            )
            for r in found
        ]

    def _run_instances(self, region: str, action: str, params: dict[str, Any]) -> list[Request]:
        ec2, arn = boto(self.url, region=region), self._arn
        created = [("instance", "instance"), ("volume", "volume")]
        created.append(("network-interface", "network-interface"))
        if params.get("InstanceMarketOptions", {}).get("MarketType") == "spot":
            created.append(("spot-instances-request", "spot-instances-request"))
        requests = self._created(region, action, params, created)
        tokens = params.get("MetadataOptions", {}).get("HttpTokens", "optional")
        requests = [
            Request(r.action, r.resource, {**r.context, "ec2:MetadataHttpTokens": tokens})
            if r.action == action and ":instance/" in r.resource
            else r
            for r in requests
        ]
        [image] = ec2.describe_images(ImageIds=[params["ImageId"]])["Images"]
        owner = "amazon" if image.get("ImageOwnerAlias") == "amazon" else image["OwnerId"]
        requests.append(
            Request(
                action, arn(region, "image", image["ImageId"], account=False), {"ec2:Owner": owner}
            )
        )
        for mapping in image.get("BlockDeviceMappings", []):
            snapshot = mapping.get("Ebs", {}).get("SnapshotId")
            if snapshot:  # an image's snapshots belong to the image's owner
                requests.append(
                    Request(
                        action,
                        arn(region, "snapshot", snapshot, account=False),
                        {"ec2:Owner": owner},
                    )
                )
        [pair] = ec2.describe_key_pairs(KeyNames=[params["KeyName"]])["KeyPairs"]
        requests.append(
            Request(action, arn(region, "key-pair", pair["KeyName"]), _resource_tags(_tags(pair)))
        )
        groups = ec2.describe_security_groups(GroupIds=params["SecurityGroupIds"])["SecurityGroups"]
        requests += [
            Request(action, arn(region, "security-group", g["GroupId"]), _resource_tags(_tags(g)))
            for g in groups
        ]
        requests.append(Request(action, arn(region, "subnet", "subnet-default")))
        return requests


def install(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap AwsClient.call and .paginate (for the test's duration) so that `recorder` sees
    every request any client makes, before it leaves."""
    call, paginate = AwsClient.call, AwsClient.paginate

    async def recorded_call(self: AwsClient, operation: str, **kwargs: Any) -> dict[str, Any]:
        recorder.record(self, operation, kwargs)
        return await call(self, operation, **kwargs)

    async def recorded_paginate(
        self: AwsClient, operation: str, key: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        recorder.record(self, operation, kwargs)
        return await paginate(self, operation, key, **kwargs)

    monkeypatch.setattr(AwsClient, "call", recorded_call)
    monkeypatch.setattr(AwsClient, "paginate", recorded_paginate)
