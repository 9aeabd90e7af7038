"""Run services as local processes against the local RabbitMQ: ``python -m tools.dev projects``.

Each service is ``nameko run`` with its config file and its port; Ctrl-C stops them all.
"""
import os
import signal
import subprocess
import sys
import time

SERVICES = {
    "projects": ("services.projects.service:ProjectsService", 8001),
    "measurement": ("services.measurement.service:MeasurementService", 8002),
    "training": ("services.training.service:TrainingService", 8003),
    "notifications": ("services.notifications.service:NotificationsService", 8004),
}


def main(names):
    if len(os.environ.get("PCN_ADMIN_KEY", "")) < 16:
        sys.exit("set PCN_ADMIN_KEY to a secret of 16+ characters")
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        sys.exit(f"unknown services: {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    processes = []
    for name in names:
        target, port = SERVICES[name]
        env = {**os.environ, "WEB_SERVER_ADDRESS": f"0.0.0.0:{port}"}
        print(f"starting {name} on http://127.0.0.1:{port}", flush=True)
        processes.append(subprocess.Popen(
            [nameko, "run", "--config", f"services/{name}/config.yaml", target], env=env))
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    return max((p.returncode or 0) for p in processes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["projects"]))
