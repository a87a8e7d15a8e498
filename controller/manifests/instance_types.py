"""Published hardware of SageMaker inference instance types: vCPUs, memory, accelerators.

The botocore model names the instance types (ProductionVariantInstanceType) but says nothing
about what they hold, and `validate` needs that to tell whether the inference components of a
variant fit on its instances. Figures are AWS's published EC2 instance specifications (the
`ml.` type has the hardware of the EC2 type of the same name): vCPUs, memory in GiB, and
accelerator devices (NVIDIA GPUs; AWS Inferentia / Trainium chips). A Neuron chip holds several
NeuronCores (Inferentia 4, Inferentia2 and Trainium 2); `neuron_cores` records them because a
component's acceleratorDevices on a Neuron instance may count cores, and the check must never
refuse a reservation SageMaker accepts.

Types missing here (new or rare ones) are simply not checked; a unit test keeps every row a
member of botocore's enum. Families: g4dn, g5, g6, g6e, p3, p4d, p5, inf1, inf2, trn1, c5, c6i,
c7i, m5, m6i, m7i, r5.
"""

from __future__ import annotations

from typing import NamedTuple


class Hardware(NamedTuple):
    """One instance type's published resources."""

    vcpus: int
    memory_gib: int
    accelerators: int
    """GPUs, or Inferentia/Trainium chips; 0 on CPU-only types."""
    neuron_cores: int | None = None
    """NeuronCores on Inferentia/Trainium types (None elsewhere)."""

    @property
    def accelerator_limit(self) -> int:
        """The most accelerator devices copies may reserve on one instance: the Neuron cores
        where a chip holds several (the lenient reading), else the devices."""
        return self.neuron_cores or self.accelerators


HARDWARE: dict[str, Hardware] = {
    "ml.g4dn.xlarge": Hardware(4, 16, 1),
    "ml.g4dn.2xlarge": Hardware(8, 32, 1),
    "ml.g4dn.4xlarge": Hardware(16, 64, 1),
    "ml.g4dn.8xlarge": Hardware(32, 128, 1),
    "ml.g4dn.12xlarge": Hardware(48, 192, 4),
    "ml.g4dn.16xlarge": Hardware(64, 256, 1),
    "ml.g5.xlarge": Hardware(4, 16, 1),
    "ml.g5.2xlarge": Hardware(8, 32, 1),
    "ml.g5.4xlarge": Hardware(16, 64, 1),
    "ml.g5.8xlarge": Hardware(32, 128, 1),
    "ml.g5.12xlarge": Hardware(48, 192, 4),
    "ml.g5.16xlarge": Hardware(64, 256, 1),
    "ml.g5.24xlarge": Hardware(96, 384, 4),
    "ml.g5.48xlarge": Hardware(192, 768, 8),
    "ml.g6.xlarge": Hardware(4, 16, 1),
    "ml.g6.2xlarge": Hardware(8, 32, 1),
    "ml.g6.4xlarge": Hardware(16, 64, 1),
    "ml.g6.8xlarge": Hardware(32, 128, 1),
    "ml.g6.12xlarge": Hardware(48, 192, 4),
    "ml.g6.16xlarge": Hardware(64, 256, 1),
    "ml.g6.24xlarge": Hardware(96, 384, 4),
    "ml.g6.48xlarge": Hardware(192, 768, 8),
    "ml.g6e.xlarge": Hardware(4, 32, 1),
    "ml.g6e.2xlarge": Hardware(8, 64, 1),
    "ml.g6e.4xlarge": Hardware(16, 128, 1),
    "ml.g6e.8xlarge": Hardware(32, 256, 1),
    "ml.g6e.12xlarge": Hardware(48, 384, 4),
    "ml.g6e.16xlarge": Hardware(64, 512, 1),
    "ml.g6e.24xlarge": Hardware(96, 768, 4),
    "ml.g6e.48xlarge": Hardware(192, 1536, 8),
    "ml.p3.2xlarge": Hardware(8, 61, 1),
    "ml.p3.8xlarge": Hardware(32, 244, 4),
    "ml.p3.16xlarge": Hardware(64, 488, 8),
    "ml.p4d.24xlarge": Hardware(96, 1152, 8),
    "ml.p5.48xlarge": Hardware(192, 2048, 8),
    "ml.inf1.xlarge": Hardware(4, 8, 1, neuron_cores=4),
    "ml.inf1.2xlarge": Hardware(8, 16, 1, neuron_cores=4),
    "ml.inf1.6xlarge": Hardware(24, 48, 4, neuron_cores=16),
    "ml.inf1.24xlarge": Hardware(96, 192, 16, neuron_cores=64),
    "ml.inf2.xlarge": Hardware(4, 16, 1, neuron_cores=2),
    "ml.inf2.8xlarge": Hardware(32, 128, 1, neuron_cores=2),
    "ml.inf2.24xlarge": Hardware(96, 384, 6, neuron_cores=12),
    "ml.inf2.48xlarge": Hardware(192, 768, 12, neuron_cores=24),
    "ml.trn1.2xlarge": Hardware(8, 32, 1, neuron_cores=2),
    "ml.trn1.32xlarge": Hardware(128, 512, 16, neuron_cores=32),
    "ml.c5.large": Hardware(2, 4, 0),
    "ml.c5.xlarge": Hardware(4, 8, 0),
    "ml.c5.2xlarge": Hardware(8, 16, 0),
    "ml.c5.4xlarge": Hardware(16, 32, 0),
    "ml.c5.9xlarge": Hardware(36, 72, 0),
    "ml.c5.18xlarge": Hardware(72, 144, 0),
    "ml.c6i.large": Hardware(2, 4, 0),
    "ml.c6i.xlarge": Hardware(4, 8, 0),
    "ml.c6i.2xlarge": Hardware(8, 16, 0),
    "ml.c6i.4xlarge": Hardware(16, 32, 0),
    "ml.c6i.8xlarge": Hardware(32, 64, 0),
    "ml.c6i.12xlarge": Hardware(48, 96, 0),
    "ml.c6i.16xlarge": Hardware(64, 128, 0),
    "ml.c6i.24xlarge": Hardware(96, 192, 0),
    "ml.c6i.32xlarge": Hardware(128, 256, 0),
    "ml.c7i.large": Hardware(2, 4, 0),
    "ml.c7i.xlarge": Hardware(4, 8, 0),
    "ml.c7i.2xlarge": Hardware(8, 16, 0),
    "ml.c7i.4xlarge": Hardware(16, 32, 0),
    "ml.c7i.8xlarge": Hardware(32, 64, 0),
    "ml.c7i.12xlarge": Hardware(48, 96, 0),
    "ml.c7i.16xlarge": Hardware(64, 128, 0),
    "ml.c7i.24xlarge": Hardware(96, 192, 0),
    "ml.c7i.48xlarge": Hardware(192, 384, 0),
    "ml.m5.large": Hardware(2, 8, 0),
    "ml.m5.xlarge": Hardware(4, 16, 0),
    "ml.m5.2xlarge": Hardware(8, 32, 0),
    "ml.m5.4xlarge": Hardware(16, 64, 0),
    "ml.m5.12xlarge": Hardware(48, 192, 0),
    "ml.m5.24xlarge": Hardware(96, 384, 0),
    "ml.m6i.large": Hardware(2, 8, 0),
    "ml.m6i.xlarge": Hardware(4, 16, 0),
    "ml.m6i.2xlarge": Hardware(8, 32, 0),
    "ml.m6i.4xlarge": Hardware(16, 64, 0),
    "ml.m6i.8xlarge": Hardware(32, 128, 0),
    "ml.m6i.12xlarge": Hardware(48, 192, 0),
    "ml.m6i.16xlarge": Hardware(64, 256, 0),
    "ml.m6i.24xlarge": Hardware(96, 384, 0),
    "ml.m6i.32xlarge": Hardware(128, 512, 0),
    "ml.m7i.large": Hardware(2, 8, 0),
    "ml.m7i.xlarge": Hardware(4, 16, 0),
    "ml.m7i.2xlarge": Hardware(8, 32, 0),
    "ml.m7i.4xlarge": Hardware(16, 64, 0),
    "ml.m7i.8xlarge": Hardware(32, 128, 0),
    "ml.m7i.12xlarge": Hardware(48, 192, 0),
    "ml.m7i.16xlarge": Hardware(64, 256, 0),
    "ml.m7i.24xlarge": Hardware(96, 384, 0),
    "ml.m7i.48xlarge": Hardware(192, 768, 0),
    "ml.r5.large": Hardware(2, 16, 0),
    "ml.r5.xlarge": Hardware(4, 32, 0),
    "ml.r5.2xlarge": Hardware(8, 64, 0),
    "ml.r5.4xlarge": Hardware(16, 128, 0),
    "ml.r5.12xlarge": Hardware(48, 384, 0),
    "ml.r5.24xlarge": Hardware(96, 768, 0),
}


def hardware(instance_type: str) -> Hardware | None:
    """The published resources of `instance_type`, or None when the table lacks it."""
    return HARDWARE.get(instance_type)
