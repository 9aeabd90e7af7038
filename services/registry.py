"""The one list of services: each one's name, HTTP port and nameko class.

Read by ``make dev`` (tools/dev.py), tools/demo.py, tools/deployment.py (which writes the
services' parts of docker-compose.yml, k8s/ and the Prometheus scrape config from it) and the
deploy tests. Plain data: importing it imports no service code and touches nothing. It also
gives ``DEPLOYED_CATALOGUE``: the event catalogue with the key replica's handlers of every
registered service, whose queues the key owner (projects) declares before it issues a key.
``python -m tools.new_service NAME PORT`` adds an entry; a service counts as deployed once its
``services/<name>/service.py`` exists, so a planned one can be listed before its code lands.
"""
import re
from dataclasses import dataclass
from pathlib import Path

from shared.events.catalogue import CATALOGUE, key_replica_subscriptions, with_subscriptions

SERVICES_DIR = Path(__file__).resolve().parent

# The nameko config every service runs with (relative to the repository root, the working
# directory of `nameko run` locally and in the image). A service's own settings sit in it with
# an environment default; its port comes from WEB_SERVER_ADDRESS, which every launcher sets.
CONFIG_PATH = "services/config.yaml"

# A name is a Python package, a queue and exchange prefix and a host name in compose and
# Kubernetes (a DNS label) at once: lower-case letters and digits.
NAME = re.compile(r"[a-z][a-z0-9]{1,30}")


@dataclass(frozen=True)
class RegisteredService:
    """A service: ``name`` is its package under services/, its queue and exchange prefix and
    its host name in compose and Kubernetes; ``port`` its HTTP port; ``class_name`` the
    nameko service class in ``services/<name>/service.py``."""
    name: str
    port: int
    class_name: str

    @property
    def target(self):
        """What ``nameko run`` is given: ``services.<name>.service:<Class>``."""
        return f"services.{self.name}.service:{self.class_name}"

    @property
    def command(self):
        """The command that runs it, the same locally, in compose and in Kubernetes."""
        return ["nameko", "run", "--config", CONFIG_PATH, self.target]

    @property
    def exists(self):
        """True once its code is in this checkout."""
        return (SERVICES_DIR / self.name / "service.py").exists()


SERVICES = (
    RegisteredService("projects", 8001, "ProjectsService"),
    RegisteredService("measurement", 8002, "MeasurementService"),
    RegisteredService("training", 8003, "TrainingService"),
    RegisteredService("notifications", 8004, "NotificationsService"),
    RegisteredService("web", 8005, "WebService"),
)


def deployed_config():
    """``CONFIG_PATH`` as ``nameko run`` reads it, in this process's environment (its
    ``${VAR:default}`` filled in)."""
    import warnings

    import yaml
    with warnings.catch_warnings():
        # nameko's CLI imports pkg_resources, which announces its own deprecation: not ours.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated",
                                category=UserWarning)
        from nameko.cli.main import setup_yaml_parser
    setup_yaml_parser()
    return yaml.load((SERVICES_DIR.parent / CONFIG_PATH).read_text(), Loader=yaml.SafeLoader)


DEPLOYED_CATALOGUE = with_subscriptions(
    CATALOGUE, key_replica_subscriptions(service.name for service in SERVICES))


def existing():
    """The registered services whose code is in this checkout, in registry order."""
    return [service for service in SERVICES if service.exists]


def by_name(name):
    """The registered service called ``name``; KeyError names the known ones."""
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(f"no service {name!r} in services/registry.py; "
                   f"known: {', '.join(s.name for s in SERVICES)}")
