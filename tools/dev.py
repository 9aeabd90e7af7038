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
        output = None
        if log_dir is not None:
            output = open(pathlib.Path(log_dir) / f"{name}.log", "wb")
        print(f"starting {name} on {base_url(name)}", flush=True)
        processes[name] = subprocess.Popen(
            [nameko, *service.command[1:]],
            env=process_env, cwd=REPO_ROOT, stdout=output,
            stderr=subprocess.STDOUT if output is not None else None)
        if output is not None:
            output.close()  # the child holds its own copy
    return processes


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


def start_oidc_provider(port=9400):
    """The local OpenID provider for the web service (its own virtualenv, ``make
    web-assets``); prints the site's URL and who to sign in as. {"oidc-provider": Popen}."""
    if not OIDC_PYTHON.exists():
        print("web: no local OpenID provider (.venv-oidc is missing: make web-assets)",
              flush=True)
        return {}
    process = subprocess.Popen([str(OIDC_PYTHON), "-m", "tools.oidc_provider", "--port",
                                str(port)], cwd=REPO_ROOT)
    people = json.loads(OIDC_USERS.read_text())["users"]
    print(f"web: open {base_url('web')}/ and sign in at the local provider "
          f"(http://127.0.0.1:{port}) as one of:", flush=True)
    for person in people:
        print(f"  {person['sub']}  {person['name']}", flush=True)
    print("  (a network lead links them: PUT /people/<uid> and "
          "PUT /networks/<id>/role-mapping on the web service, README 'The web front end')",
          flush=True)
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
