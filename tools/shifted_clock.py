"""The unit suite again under shifted clocks: ``python -m tools.shifted_clock [--tests PATH]``.

``make test`` runs it after the whole suite, so that a test which depends on the day it runs
fails here, on any day, instead of on the day its fixed date falls behind the real clock. Each
clock runs the unit suite in its own process under Debian's ``faketime`` (libfaketime): the
wall clock starts at the shifted time and runs on, and the monotonic clock moves by the same
offset, so intervals and timeouts are unchanged (leaving it unfaked with
``FAKETIME_DONT_FAKE_MONOTONIC`` makes Python's ``time.sleep`` fail with EINVAL). The clocks:

- a year and more ahead (``+400d``), past every fixed date a test may hold;
- the night the UK's clocks go forward (``2027-03-28 00:30 UTC``, 30 minutes before);
- a weekend night (Saturday ``2027-01-09 23:30 UTC``), outside every send window.

One line per clock; exit status 1 when a run fails, 0 when all pass. Without ``faketime``
(``apt-get install faketime``; ``make test`` installs it as root) it says so and fails, unless
``PCN_SHIFTED_CLOCK=skip`` says to skip it.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

CLOCKS = (
    ("a year and more ahead", "+400d"),
    ("the night the UK's clocks go forward", "@2027-03-28 00:30:00"),
    ("a weekend night", "@2027-01-09 23:30:00"),
)
UNIT_TESTS = "tests/unit"


def say(text):
    print(f"shifted clock: {text}", flush=True)


def start_under(clock, tests):
    """pytest on ``tests`` started with the clock ``clock`` (a process, its output piped)."""
    # TZ=UTC: the absolute clocks are UTC; the services' own time zones come from their data.
    env = {**os.environ, "TZ": "UTC"}
    command = ["faketime", "-f", clock, sys.executable, "-m", "pytest", "-q", "-rfE",
               "-p", "no:cacheprovider", tests]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def outcome(process):
    """The exit status, the output and the closing line of a run ``start_under`` began."""
    stdout, stderr = process.communicate()
    lines = [line for line in stdout.splitlines() if line.strip()]
    return process.returncode, stdout, lines[-1] if lines else stderr.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default=UNIT_TESTS, help="what pytest runs (tests/unit)")
    args = parser.parse_args(argv)
    if shutil.which("faketime") is None:
        if os.environ.get("PCN_SHIFTED_CLOCK") == "skip":
            say("SKIPPED: faketime is not installed (apt-get install faketime)")
            return 0
        say("faketime is not installed: apt-get install faketime "
            "(or PCN_SHIFTED_CLOCK=skip to skip these runs)")
        return 2
    failed = []
    # The runs share nothing (mongomock, no broker), so they go side by side.
    started = time.monotonic()
    runs = [(name, clock, start_under(clock, args.tests)) for name, clock in CLOCKS]
    for name, clock, process in runs:
        status, output, closing = outcome(process)
        say(f"{name} ({clock}): {closing} [{time.monotonic() - started:.0f} s since the start]")
        if status != 0:
            failed.append(name)
            for line in output.splitlines():
                if line.startswith(("FAILED", "ERROR")):
                    say(f"  {line}")
    if failed:
        say(f"FAILED under {len(failed)} of {len(CLOCKS)} clocks ({', '.join(failed)}): "
            f"a unit test depends on the day it runs; pass the clock in")
        return 1
    say(f"{args.tests} passes under all {len(CLOCKS)} clocks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
