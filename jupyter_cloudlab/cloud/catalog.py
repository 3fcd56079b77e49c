"""What can be launched: instance types (with GPUs and prices) and machine images."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from importlib import resources

from ..errors import ErrorKind
from . import images as saved_images
from . import pricing
from .aws_client import AwsClient
from .errors import CloudError
from .tags import SSH_USER_TAG, Computer, tag_dict

# Offered in the picker; any other valid type can still be launched through the API.
CURATED_INSTANCE_TYPES = tuple(
    json.loads(resources.files(__package__).joinpath("prices.json").read_text())["regions"][
        "us-east-1"
    ]["on_demand"]
)
AMI_ID_PATTERN = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")

# Public SSM parameters that name the latest AMI of each family (AWS mode).
DLAMI_PARAMETER = "/aws/service/deeplearning/ami/{arch}/{ami_type}/latest/ami-id"
# The curated Deep Learning AMI types: NVIDIA driver + CUDA base, and PyTorch on top.
DLAMI_TYPES = (
    "base-oss-nvidia-driver-gpu-ubuntu-22.04",
    "oss-nvidia-driver-gpu-pytorch-2.7-ubuntu-22.04",
    "base-oss-nvidia-driver-gpu-amazon-linux-2023",
)
UBUNTU_PARAMETER = (
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/{ubuntu_arch}/hvm/ebs-gp3/ami-id"
)
AL2023_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}


def _public_image_parameters() -> dict[str, str]:
    parameters: dict[str, str] = {}
    for arch, ubuntu_arch in ARCHITECTURES.items():
        for ami_type in DLAMI_TYPES:
            parameters[DLAMI_PARAMETER.format(arch=arch, ami_type=ami_type)] = "deep-learning"
        parameters[UBUNTU_PARAMETER.format(ubuntu_arch=ubuntu_arch)] = "ubuntu"
        parameters[AL2023_PARAMETER.format(arch=arch)] = "amazon-linux"
    return parameters


PUBLIC_IMAGE_PARAMETERS = _public_image_parameters()
SSM_GET_PARAMETERS_MAX = 10


FAMILY_ORDER = ("yours", "deep-learning", "ubuntu", "amazon-linux", "custom")


@dataclass(frozen=True)
class Gpu:
    manufacturer: str
    model: str
    count: int
    memory_gib: float


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    architecture: str
    gpu: Gpu | None
    price_per_hour: float | None
    spot_price_per_hour: float | None = None
    price_source: str = pricing.SNAPSHOT_SOURCE

    @property
    def gpu_label(self) -> str:
        if self.gpu is None:
            return "CPU"
        count = f"{self.gpu.count}× " if self.gpu.count > 1 else ""
        return f"{count}{self.gpu.model} {round(self.gpu.memory_gib)} GB"


@dataclass(frozen=True)
class Image:
    id: str
    name: str
    description: str
    architecture: str
    ssh_user: str
    family: str
    root_device_name: str = "/dev/sda1"
    ours: bool = False
    """Saved from one of this computer's machines (family "yours")."""
    state: str = "available"
    snapshot_gib: int | None = None
    storage_usd_per_month: float | None = None
    storage_price_note: str | None = None


def _instance_type(raw: dict, prices: dict[str, float]) -> InstanceType:
    gpu = None
    gpus = raw.get("GpuInfo", {}).get("Gpus", [])
    if gpus:
        first = gpus[0]
        gpu = Gpu(
            manufacturer=first.get("Manufacturer", ""),
            model=first.get("Name", "GPU"),
            count=sum(g.get("Count", 1) for g in gpus),
            memory_gib=first.get("MemoryInfo", {}).get("SizeInMiB", 0) / 1024,
        )
    architectures = raw.get("ProcessorInfo", {}).get("SupportedArchitectures", ["x86_64"])
    return InstanceType(
        name=raw["InstanceType"],
        vcpus=raw["VCpuInfo"]["DefaultVCpus"],
        memory_gib=raw["MemoryInfo"]["SizeInMiB"] / 1024,
        architecture=architectures[0],
        gpu=gpu,
        price_per_hour=prices.get(raw["InstanceType"]),
    )


async def describe_instance_types(ec2: AwsClient, names: list[str]) -> list[InstanceType]:
    """Instance types by name; unknown names are an error that says which."""
    prices = pricing.snapshot_prices(ec2.region)
    try:
        raw = await ec2.paginate("describe_instance_types", "InstanceTypes", InstanceTypes=names)
    except CloudError as error:
        if error.code in ("InvalidInstanceType", "InvalidParameterValue"):
            raise CloudError(
                f"Unknown instance type {', '.join(names)}: pick one from the list.",
                ErrorKind.invalid,
            ) from error
        raise
    found = {item["InstanceType"] for item in raw}
    missing = [name for name in names if name not in found]
    if missing:
        raise CloudError(f"Unknown instance type {', '.join(missing)}: pick one from the list.")
    return sorted((_instance_type(item, prices) for item in raw), key=lambda t: names.index(t.name))


async def offered_instance_types(
    ec2: AwsClient, pricing_client: AwsClient | None = None
) -> list[InstanceType]:
    """The curated picker list, as this region knows it, with on-demand and spot prices."""
    raw = await ec2.paginate(
        "describe_instance_types",
        "InstanceTypes",
        Filters=[{"Name": "instance-type", "Values": list(CURATED_INSTANCE_TYPES)}],
    )
    names = [item["InstanceType"] for item in raw]
    on_demand = await pricing.on_demand_prices(pricing_client, ec2.region, names)
    spot = await pricing.spot_prices(ec2, names)
    types = [
        dataclasses.replace(
            _instance_type(item, on_demand.prices),
            spot_price_per_hour=spot.get(item["InstanceType"]),
            price_source=on_demand.source,
        )
        for item in raw
    ]
    return sorted(types, key=lambda t: (t.gpu is None, t.price_per_hour or 0, t.name))


async def resize_target(
    ec2: AwsClient, image_id: str, current_type: str, new_type: str
) -> InstanceType:
    """`new_type`, checked for a machine of `image_id` on `current_type`: a known type, of the
    architecture the image runs (its current type's when the image is gone)."""
    [new] = await describe_instance_types(ec2, [new_type])
    try:
        architecture = (await describe_image(ec2, image_id)).architecture
    except CloudError:
        [current] = await describe_instance_types(ec2, [current_type])
        architecture = current.architecture
    if architecture != new.architecture:
        raise CloudError(
            f"The machine runs {architecture} software but {new.name} is {new.architecture}: "
            f"pick a {architecture} instance type.",
            ErrorKind.invalid,
        )
    return new


def ssh_user_for(image_name: str) -> str:
    """The default login of an AMI family: Ubuntu-based images use ubuntu, the rest ec2-user."""
    return "ubuntu" if "ubuntu" in image_name.lower() else "ec2-user"


def _family_of(name: str) -> str:
    lowered = name.lower()
    if "deep learning" in lowered:
        return "deep-learning"
    if "ubuntu" in lowered:
        return "ubuntu"
    if "al2023" in lowered or "amazon linux" in lowered:
        return "amazon-linux"
    return "custom"


def _image(raw: dict, family: str | None = None) -> Image:
    name = raw.get("Name", raw["ImageId"])
    return Image(
        id=raw["ImageId"],
        name=name,
        description=raw.get("Description", ""),
        architecture=raw.get("Architecture", "x86_64"),
        # An image saved from a machine of ours says its login (its name may not).
        ssh_user=tag_dict(raw).get(SSH_USER_TAG) or ssh_user_for(name),
        family=family or _family_of(name),
        root_device_name=raw.get("RootDeviceName", "/dev/sda1"),
    )


async def offered_images(
    ec2: AwsClient, ssm: AwsClient, computer: Computer | None = None
) -> list[Image]:
    """The public images (see public_images), with this account's own: `computer`'s first."""
    return with_own_images(await public_images(ec2, ssm), await own_images(ec2, computer))


def with_own_images(public: list[Image], own: list[Image]) -> list[Image]:
    """The picker's list: this computer's images first ("yours"), then the families in order."""
    yours = {image.id for image in own if image.ours}
    public_ids = {image.id for image in public}
    images = [image for image in public if image.id not in yours]
    images += [image for image in own if image.ours or image.id not in public_ids]
    return sorted(images, key=lambda image: (FAMILY_ORDER.index(image.family), image.name))


async def own_images(ec2: AwsClient, computer: Computer | None) -> list[Image]:
    """The account's own AMIs; those saved from `computer`'s machines are "yours", with what
    keeping them costs. Not cached: one saved a minute ago is pending, then available."""
    own = await ec2.call("describe_images", Owners=["self"])
    return [_own_image(raw, computer) for raw in own["Images"]]


async def own_image(ec2: AwsClient, computer: Computer, image_id: str) -> Image:
    """One image of this account's, as the picker shows it."""
    reply = await ec2.call("describe_images", ImageIds=[image_id])
    return _own_image(reply["Images"][0], computer)


def _own_image(raw: dict, computer: Computer | None) -> Image:
    image = _image(raw)
    if computer is None or not saved_images.is_ours(raw, computer):
        return image
    saved = saved_images.saved_image(raw)
    return dataclasses.replace(
        image,
        family="yours",
        ours=True,
        state=saved.state,
        snapshot_gib=saved.snapshot_gib,
        storage_usd_per_month=saved.storage_usd_per_month,
        storage_price_note=saved_images.SNAPSHOT_PRICE_NOTE,
    )


async def public_images(ec2: AwsClient, ssm: AwsClient) -> list[Image]:
    """Deep Learning, Ubuntu and Amazon Linux AMIs from public SSM parameters."""
    families: dict[str, str] = {}
    try:
        names = list(PUBLIC_IMAGE_PARAMETERS)
        for first in range(0, len(names), SSM_GET_PARAMETERS_MAX):
            chunk = names[first : first + SSM_GET_PARAMETERS_MAX]
            reply = await ssm.call("get_parameters", Names=chunk)
            for parameter in reply.get("Parameters", []):
                families[parameter["Value"]] = PUBLIC_IMAGE_PARAMETERS[parameter["Name"]]
    except CloudError:
        pass  # no ssm:GetParameters, or an endpoint without them: own AMIs still work
    if not families:
        return []
    public = await ec2.call("describe_images", ImageIds=list(families))
    return [_image(raw, families[raw["ImageId"]]) for raw in public["Images"]]


async def describe_image(ec2: AwsClient, image_id: str) -> Image:
    """One AMI, validated: well formed and present in the region."""
    if not AMI_ID_PATTERN.match(image_id):
        raise CloudError(
            f"'{image_id}' is not an AMI id: use the form ami-0123456789abcdef0.", ErrorKind.invalid
        )
    try:
        reply = await ec2.call("describe_images", ImageIds=[image_id])
    except CloudError as error:
        if error.code and error.code.startswith("InvalidAMIID"):
            raise CloudError(
                f"AMI {image_id} does not exist in {ec2.region}.", ErrorKind.invalid
            ) from error
        raise
    if not reply.get("Images"):
        raise CloudError(f"AMI {image_id} does not exist in {ec2.region}.", ErrorKind.invalid)
    return _image(reply["Images"][0])
