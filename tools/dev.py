"""Run services as local processes against the local RabbitMQ: ``python -m tools.dev [NAME ...]``.

Each service is ``nameko run`` with the shared config and its port from services/registry.py;
with no names, every registered service that exists in this checkout. Ctrl-C stops them all.
``tools.demo`` uses the same functions to start what it needs when nothing answers.
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import requests

from services import registry

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Settings of local processes unless the environment says otherwise: webhooks to a receiver
# on this machine (a private address) are allowed locally, never by default in a deployment.
LOCAL_DEFAULTS = {"NOTIFICATIONS_ALLOW_PRIVATE_ENDPOINTS": "true"}


def existing_services():
    """Names of the registered services whose code is in this checkout, in registry order."""
    return [service.name for service in registry.existing()]


def base_url(name):
    return f"http://127.0.0.1:{registry.by_name(name).port}"


def answers(name, path="/health", timeout=1.0):
    """True when the service's port answers ``path`` with 200."""
    try:
        return requests.get(base_url(name) + path, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def start(names, env=None, log_dir=None):
    """Start ``names`` with ``nameko run``; returns {name: Popen}. Output goes to the terminal,
    or to ``<log_dir>/<name>.log``."""
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    processes = {}
    for name in names:
        service = registry.by_name(name)
        process_env = {**LOCAL_DEFAULTS, **os.environ, **(env or {}),
                       "WEB_SERVER_ADDRESS": f"0.0.0.0:{service.port}"}
        print(f"starting {name} on {base_url(name)}", flush=True)
        processes[name] = popen_logged([nameko, *service.command[1:]], log_dir, name,
                                       env=process_env)
    return processes


def popen_logged(command, log_dir, name, **popen_args):
    """Start ``command`` in the repository; its output goes to the terminal, or to
    ``<log_dir>/<name>.log``."""
    if log_dir is None:
        return subprocess.Popen(command, cwd=REPO_ROOT, **popen_args)
    with open(pathlib.Path(log_dir) / f"{name}.log", "wb") as output:  # the child keeps a copy
        return subprocess.Popen(command, cwd=REPO_ROOT, stdout=output,
                                stderr=subprocess.STDOUT, **popen_args)


def wait_ready(processes, timeout=90.0):
    """Wait until every started service answers /ready with 200. Returns the names that
    exited or never became ready (empty when all are ready)."""
    deadline = time.monotonic() + timeout
    waiting = set(processes)
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            if processes[name].poll() is not None:
                return [name]
            if answers(name, "/ready", timeout=3.0):
                print(f"{name} is ready", flush=True)
                waiting.discard(name)
        if waiting:
            time.sleep(0.5)
    return sorted(waiting)


def stop(processes):
    """SIGTERM each started process, then kill what has not stopped within 15 s."""
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


OIDC_PYTHON = REPO_ROOT / ".venv-oidc" / "bin" / "python"
OIDC_USERS = REPO_ROOT / "tools" / "oidc_provider" / "demo_users.json"
OIDC_PORT = 9400


def oidc_provider_url(port=OIDC_PORT):
    return f"http://127.0.0.1:{port}"


def oidc_provider_answers(port=OIDC_PORT, timeout=1.0):
    try:
        return requests.get(oidc_provider_url(port) + "/.well-known/openid-configuration",
                            timeout=timeout).ok
    except requests.RequestException:
        return False


def demo_people():
    """The people of the local provider (demo_users.json), as it gives their claims."""
    return json.loads(OIDC_USERS.read_text())["users"]


def roles_of(person):
    """A person's CIS2 roles in words: "Clinical Lead at U00001", or "no role"."""
    return ", ".join(f"{grant['role_name'].split(':')[-1].strip(chr(34))} at {grant['org_code']}"
                     for grant in person["nhsid_nrbac_roles"]) or "no role"


def web_site_url():
    """Where the web service says it is (WEB_BASE_URL of services/config.yaml, as ``nameko
    run`` reads it here). Open the site there: the sign-in comes back to that address, and
    its cookies are kept per host (127.0.0.1 and localhost are two sites to a browser)."""
    return str(registry.deployed_config()["WEB_BASE_URL"]).rstrip("/")


def start_oidc_provider(port=OIDC_PORT, log_dir=None, announce=True):
    """The local OpenID provider for the web service (its own virtualenv, ``make
    web-assets``); with ``announce``, prints the site's URL and who to sign in as. Output
    goes to the terminal, or to ``<log_dir>/oidc-provider.log``. {"oidc-provider": Popen}, or
    {} when .venv-oidc is missing."""
    if not OIDC_PYTHON.exists():
        print("web: no local OpenID provider (.venv-oidc is missing: make web-assets)",
              flush=True)
        return {}
    process = popen_logged([str(OIDC_PYTHON), "-m", "tools.oidc_provider", "--port",
                            str(port)], log_dir, "oidc-provider")
    if announce:
        print(f"web: open {web_site_url()}/ and sign in at the local provider "
              f"({oidc_provider_url(port)}) as one of:", flush=True)
        for person in demo_people():
            print(f"  {person['sub']}  {person['name']} ({roles_of(person)})", flush=True)
        print("  (a network lead links them: PUT /people/<uid> and "
              "PUT /networks/<id>/role-mapping on the web service, README 'The web front "
              "end'; `make demo` links the network lead to the network it makes)", flush=True)
    return {"oidc-provider": process}


class StopRequested(Exception):
    """SIGTERM or SIGINT arrived."""


def stop_on_signal(signum, frame):
    raise StopRequested(signal.Signals(signum).name)


def main(names):
    if len(os.environ.get("PCN_ADMIN_KEY", "")) < 16:
        sys.exit("set PCN_ADMIN_KEY to a secret of 16+ characters, "
                 "e.g. export PCN_ADMIN_KEY=$(openssl rand -hex 24)")
    names = names or existing_services()
    unknown = [n for n in names if n not in existing_services()]
    if unknown:
        sys.exit(f"unknown services: {', '.join(unknown)}; "
                 f"known: {', '.join(existing_services())}")
    # SIGTERM (and SIGINT even where a shell started us with it ignored) stops the services
    # too, instead of leaving them running without their parent.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_on_signal)
    processes = start(names)
    if "web" in names:
        processes.update(start_oidc_provider())
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
    except (KeyboardInterrupt, StopRequested):
        pass
    finally:
        stop(processes)
    return max((p.returncode or 0) for p in processes.values())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
