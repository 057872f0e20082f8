# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""OpenStackClient plugin hooks: the ``scheduled_images`` client.

OpenStackClient finds this module through the ``openstack.cli.extension``
entry point, adds :func:`build_option_parser`'s global options, loads the
commands of the ``openstack.scheduled_images.v1`` entry point group, and
calls :func:`make_client` the first time a command asks for
``client_manager.scheduled_images``.

Every ``openstack`` command imports this module, ``openstack server list``
as much as ours; so python-novaclient and the managers are imported in
:func:`make_client`, when one of our commands runs, and the option
definitions take their names from the light :mod:`..config`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from typing import TYPE_CHECKING, Any

from osc_lib import exceptions, utils

from rax_scheduled_images_python_novaclient_ext import config

if TYPE_CHECKING:
    from rax_scheduled_images_python_novaclient_ext import manager, retry

LOG = logging.getLogger(__name__)

# ``client_manager.scheduled_images``; none of OpenStackClient's own API
# names (compute, identity, image, network, object_store, volume, share,
# accelerator) and the command group openstack.scheduled_images.v1.
API_NAME = "scheduled_images"
API_VERSION_OPTION = "os_scheduled_images_api_version"
DEFAULT_API_VERSION = "1"
# The client class of each version a user may ask for, as OpenStackClient
# plugins declare them (python-openstackclient 6 sorts the keys to warn of
# an unknown version, so this stays a dict); make_client imports the class
# from here, as osc-lib's get_client_class (deprecated now) does for the
# anchors.
API_VERSIONS = {
    "1": "rax_scheduled_images_python_novaclient_ext.manager.ScheduleManager",
}

# The options' keys in OpenStackClient's cloud config (``os_`` dropped).
ALIAS_CONFIG_KEY = "scheduled_images_api_alias"
RETRIES_CONFIG_KEY = "scheduled_images_retries"
MAX_DELAY_CONFIG_KEY = "scheduled_images_retry_max_delay"

# The compute API version the novaclient Client speaks. "2.0" sends no
# microversion header, which the scheduled-images routes do not need and
# which clouds that still serve the legacy v2 API do not understand.
COMPUTE_API_VERSION = "2.0"


def make_client(instance: Any) -> manager.ScheduleManager:
    """Return the schedule manager on OpenStackClient's session.

    The manager's ``api`` is a python-novaclient v2 Client that shares the
    keystoneauth session (so the token OpenStackClient obtained), the
    region, the interface and any ``--os-compute-endpoint-override``.

    :param instance: OpenStackClient's ``ClientManager``.
    :raises osc_lib.exceptions.UnsupportedVersion: for an API version
        other than those in :data:`API_VERSIONS`.
    """
    from novaclient import client as nova_client

    version = str(
        getattr(instance, "_api_version", {}).get(
            API_NAME, DEFAULT_API_VERSION
        )
    )
    if version not in API_VERSIONS:
        raise exceptions.UnsupportedVersion(
            f"Scheduled images API version '{version}' is not supported: "
            "use " + ", ".join(sorted(API_VERSIONS)) + "."
        )
    options = getattr(getattr(instance, "_cli_options", None), "config", {})
    alias = (options or {}).get(ALIAS_CONFIG_KEY) or None
    endpoint_override = (options or {}).get("compute_endpoint_override")
    compute = nova_client.Client(
        COMPUTE_API_VERSION,
        session=instance.session,
        region_name=instance.region_name,
        endpoint_type=instance.interface or "public",
        endpoint_override=endpoint_override or None,
    )
    LOG.debug("Scheduled images client on %s (alias %s)", compute, alias)
    module, _, name = API_VERSIONS[version].rpartition(".")
    client_class = getattr(importlib.import_module(module), name)
    try:
        made: manager.ScheduleManager = client_class(
            compute, alias=alias, retry_policy=_retry_policy(options or {})
        )
        return made
    except ValueError as error:
        raise exceptions.CommandError(str(error)) from None


def _retry_policy(options: dict[str, Any]) -> retry.RetryPolicy:
    """The environment's policy, with the command line's options on top.

    :raises ValueError: for a setting that is not a number, or negative.
    """
    from rax_scheduled_images_python_novaclient_ext import retry

    policy = retry.RetryPolicy.from_env()
    retries = options.get(RETRIES_CONFIG_KEY)
    max_delay = options.get(MAX_DELAY_CONFIG_KEY)
    return retry.RetryPolicy(
        retries=policy.retries if retries is None else int(retries),
        backoff=policy.backoff,
        max_delay=policy.max_delay if max_delay is None else float(max_delay),
    )


def build_option_parser(
    parser: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """Add the plugin's global options to ``openstack``'s parser."""
    parser.add_argument(
        "--os-scheduled-images-api-version",
        metavar="<scheduled-images-api-version>",
        default=utils.env("OS_SCHEDULED_IMAGES_API_VERSION"),
        help=(
            "Scheduled images API version, default="
            f"{DEFAULT_API_VERSION} (Env: OS_SCHEDULED_IMAGES_API_VERSION)"
        ),
    )
    parser.add_argument(
        "--os-scheduled-images-api-alias",
        metavar="<alias>",
        choices=config.ALIASES,
        default=None,
        help=(
            "The name under which the cloud serves the API: "
            + " or ".join(config.ALIASES)
            + f" (Env: {config.ALIAS_ENV}). Without it the client tries "
            f"{config.DEFAULT_ALIAS} and falls back to the other once."
        ),
    )
    parser.add_argument(
        "--os-scheduled-images-retries",
        metavar="<count>",
        type=int,
        default=None,
        help=(
            "How many times to retry a request after a dropped connection "
            "or a 413, 429, 502, 503 or 504 answer; 0 never retries. "
            f"Default {config.DEFAULT_RETRIES} "
            f"(Env: {config.ENV_RETRIES})"
        ),
    )
    parser.add_argument(
        "--os-scheduled-images-retry-max-delay",
        metavar="<seconds>",
        type=float,
        default=None,
        help=(
            "The longest wait before a retry, also when the cloud asks for "
            f"longer with Retry-After. Default {config.DEFAULT_MAX_DELAY}"
            f" (Env: {config.ENV_MAX_DELAY})"
        ),
    )
    return parser
