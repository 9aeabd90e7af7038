"""Prepare this machine for the test suite: ``python -m tools.prepare_tests [--check]``.

``make test`` runs it before pytest. It is idempotent and takes well under a second when all is
in place. Each step prints one line saying what it found or did:

- RabbitMQ answers on 127.0.0.1:5672, started with ``rabbitmq-server -detached`` when it is
  installed but not running (installed with apt-get first when we are root);
- its management plugin (nameko's ``rabbit_config`` fixture makes a vhost per test through the
  HTTP API on :15672) and its prometheus plugin (:15692, read by the dashboard tests) are
  enabled with ``rabbitmq-plugins``;
- ``promtool`` (Debian ``prometheus``), ``docker-compose``, ``faketime`` and, for the web
  service's browser tests, ``chromium`` and ``chromedriver`` (``chromium-driver``) are installed with
  apt-get when we are root and the package archive answers; otherwise the deployment checks that
  need them are skipped, with the reason in pytest's summary, and the shifted-clock runs
  (``tools/shifted_clock.py``) say what to install.

Only the stdlib is used, so it runs before the virtualenv exists. Exit status 2 means the suite
cannot run here (no RabbitMQ, or no management API); the line before says what to install.
"""
import argparse
import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

AMQP_ADDRESS = ("127.0.0.1", 5672)
MANAGEMENT_URL = "http://127.0.0.1:15672/api/overview"
PROMETHEUS_URL = "http://127.0.0.1:15692/metrics"
GUEST_AUTH = "Basic " + base64.b64encode(b"guest:guest").decode()
PLUGINS = ("rabbitmq_management", "rabbitmq_prometheus")
# Debian package that provides each command the deployment tests run.
TOOL_PACKAGES = {"promtool": "prometheus", "docker-compose": "docker-compose",
                 "faketime": "faketime",
                 # the web service's browser tests drive Debian's Chromium (never downloaded)
                 "chromium": "chromium", "chromedriver": "chromium-driver"}
APT_OPTIONS = ("-o", "Acquire::http::Timeout=15", "-o", "Acquire::Retries=1")


class CannotPrepare(Exception):
    """The suite cannot run on this machine; the message says what to install."""


def say(text):
    print(f"prepare: {text}", flush=True)


def amqp_answers(timeout=1.0):
    try:
        with socket.create_connection(AMQP_ADDRESS, timeout=timeout):
            return True
    except OSError:
        return False


def http_answers(url, timeout=2.0):
    request = urllib.request.Request(url, headers={"Authorization": GUEST_AUTH})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until(check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return check()


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


class Apt:
    """apt-get, updated at most once per run; only usable as root."""

    def __init__(self, dry_run):
        self.dry_run = dry_run
        self.updated = None

    @property
    def usable(self):
        return is_root() and shutil.which("apt-get") is not None

    def install(self, packages):
        """True when ``packages`` were installed; False (with a line saying why) otherwise."""
        if self.dry_run:
            say(f"would run: apt-get install -y --no-install-recommends {' '.join(packages)}")
            return False
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if self.updated is None:
            say("apt-get update (the package archive must answer)")
            self.updated = self._run(["apt-get", *APT_OPTIONS, "update", "-qq"], env) == 0
            if not self.updated:
                say("apt-get update failed: the package archive does not answer")
        if not self.updated:
            return False
        say(f"apt-get install {' '.join(packages)}")
        # --no-install-recommends: only the binaries are wanted, not node exporters and daemons.
        return self._run(["apt-get", *APT_OPTIONS, "install", "-y", "-qq",
                          "--no-install-recommends", *packages], env) == 0

    @staticmethod
    def _run(command, env):
        try:
            return subprocess.run(command, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=900).returncode
        except (OSError, subprocess.TimeoutExpired):
            return 1


def ensure_rabbitmq_running(apt, dry_run=False):
    """RabbitMQ answering on 127.0.0.1:5672, started (or installed) if needed.

    Raises ``CannotPrepare`` with one line saying what to install when that is not possible."""
    if amqp_answers():
        say("RabbitMQ answers on 127.0.0.1:5672")
        return
    if shutil.which("rabbitmq-server") is None:
        if apt.usable:
            say("RabbitMQ is not installed: installing the Debian package rabbitmq-server")
            apt.install(["rabbitmq-server"])
        if shutil.which("rabbitmq-server") is None:
            if dry_run:
                return
            raise CannotPrepare(
                "no RabbitMQ on 127.0.0.1:5672 and none installed: install RabbitMQ 3.10+ "
                "(apt-get install rabbitmq-server) and start it (rabbitmq-server -detached)")
    if dry_run:
        say("would run: rabbitmq-server -detached, then wait for 127.0.0.1:5672")
        return
    say("RabbitMQ is not running: rabbitmq-server -detached")
    subprocess.run(["rabbitmq-server", "-detached"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    if not wait_until(amqp_answers, 90):
        raise CannotPrepare("RabbitMQ did not start within 90 s: see its log "
                            "(/var/log/rabbitmq/) and start it by hand (rabbitmq-server -detached)")
    say("RabbitMQ started")


def ensure_plugins(dry_run=False):
    """The management API (needed) and the prometheus endpoint (for the dashboard tests)."""
    wanted = {"rabbitmq_management": MANAGEMENT_URL, "rabbitmq_prometheus": PROMETHEUS_URL}
    missing = [plugin for plugin, url in wanted.items() if not http_answers(url)]
    if not missing:
        say("RabbitMQ management (:15672) and prometheus (:15692) plugins answer")
        return
    if shutil.which("rabbitmq-plugins") is None:
        if "rabbitmq_management" in missing:
            raise CannotPrepare(
                "RabbitMQ's management API does not answer on :15672 and rabbitmq-plugins is not "
                "here: run `rabbitmq-plugins enable rabbitmq_management rabbitmq_prometheus` "
                "on the broker's machine")
        say("RabbitMQ's prometheus plugin does not answer on :15692: its dashboard check is "
            "skipped (rabbitmq-plugins enable rabbitmq_prometheus)")
        return
    if dry_run:
        say(f"would run: rabbitmq-plugins enable {' '.join(missing)}, then wait for them")
        return
    say(f"rabbitmq-plugins enable {' '.join(missing)}")
    enabled = subprocess.run(["rabbitmq-plugins", "enable", "--quiet", *missing],
                             capture_output=True, text=True, check=False)
    if enabled.returncode != 0:
        reason = (enabled.stderr or enabled.stdout).strip().splitlines()
        raise CannotPrepare("rabbitmq-plugins enable failed"
                            + (f" ({reason[-1]})" if reason else "")
                            + ": run it as the user that runs RabbitMQ (usually root)")
    for plugin in missing:
        if not wait_until(lambda: http_answers(wanted[plugin]), 60):
            if plugin == "rabbitmq_management":
                raise CannotPrepare("the management API did not answer on :15672 within 60 s "
                                    "after enabling rabbitmq_management")
            say(f"{plugin} did not answer within 60 s: its dashboard check is skipped")
    say("RabbitMQ plugins enabled")


def ensure_tools(apt):
    """promtool, docker-compose and faketime, installed when possible; a line for each that
    is not."""
    missing = [tool for tool in TOOL_PACKAGES if shutil.which(tool) is None]
    for tool in TOOL_PACKAGES:
        if tool not in missing:
            say(f"{tool} is installed")
    if missing and apt.usable:
        apt.install(sorted({TOOL_PACKAGES[tool] for tool in missing}))
    for tool in missing:
        if shutil.which(tool) is None:
            say(f"{tool} is not available (Debian package {TOOL_PACKAGES[tool]}): the checks "
                f"that need it are SKIPPED")
        else:
            say(f"{tool} installed")
    if shutil.which("kubectl") is None:
        say("kubectl is not available: the kustomize checks are SKIPPED")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only report what is missing and what would be done")
    args = parser.parse_args(argv)
    apt = Apt(dry_run=args.check)
    try:
        ensure_rabbitmq_running(apt, dry_run=args.check)
        ensure_plugins(dry_run=args.check)
    except CannotPrepare as exc:
        print(f"prepare: CANNOT RUN THE TESTS: {exc}", file=sys.stderr, flush=True)
        return 2
    ensure_tools(apt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
