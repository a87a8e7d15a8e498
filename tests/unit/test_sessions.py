"""Every botocore session the controller opens shares one data loader (service models parsed
once per process: an unshared session cost ~20 MiB of RSS per target)."""

from __future__ import annotations

from controller.aws import sessions
from controller.aws.clients import AwsOptions, Clients


def test_sessions_share_the_loader_and_its_parsed_models() -> None:
    a, b = sessions.core_session(), sessions.core_session()
    assert a is not b
    loader = a.get_component("data_loader")
    assert b.get_component("data_loader") is loader
    model = loader.load_service_model("sagemaker", "service-2")
    assert b.get_component("data_loader").load_service_model("sagemaker", "service-2") is model


def test_the_ambient_session_uses_the_shared_loader() -> None:
    clients = Clients(AwsOptions(region="us-east-1"))
    ambient = clients._session._session.get_component("data_loader")
    assert ambient is sessions.core_session().get_component("data_loader")
