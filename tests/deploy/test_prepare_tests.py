"""tools/prepare_tests.py, on fake brokers and tools: the shared RabbitMQ is never touched.

Fake ``rabbitmq-server``/``rabbitmq-plugins``/``apt-get`` scripts on PATH record their
arguments and leave a marker file that the patched probes read as "now it answers"."""
import shutil
import stat

import pytest

from tools import prepare_tests


def fake_tool(folder, name, marker=None):
    """A shell script ``name`` in ``folder`` that logs its arguments (and touches ``marker``)."""
    script = folder / name
    touch = f'touch "{marker}"\n' if marker else ""
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/calls.log"\n{touch}exit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def calls(folder):
    log = folder / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A PATH with only the commands the fake scripts use, a non-root user, and probes driven
    by marker files."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in ("touch", "chmod"):
        (bin_dir / command).symlink_to(shutil.which(command))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(prepare_tests, "is_root", lambda: False)
    monkeypatch.setattr(prepare_tests, "amqp_answers",
                        lambda timeout=1.0: (tmp_path / "broker-up").exists())
    monkeypatch.setattr(prepare_tests, "http_answers",
                        lambda url, timeout=2.0: (tmp_path / "plugins-up").exists())
    monkeypatch.setattr(prepare_tests.time, "sleep", lambda seconds: None)
    return tmp_path


def test_no_rabbitmq_anywhere_is_one_line_saying_what_to_install(machine, capsys):
    assert prepare_tests.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install rabbitmq-server" in err[0], err
    assert "Traceback" not in err[0]


def test_a_stopped_broker_is_started_and_its_plugins_enabled(machine, capsys):
    bin_dir = machine / "bin"
    fake_tool(bin_dir, "rabbitmq-server", machine / "broker-up")
    fake_tool(bin_dir, "rabbitmq-plugins", machine / "plugins-up")
    assert prepare_tests.main([]) == 0
    assert calls(bin_dir) == [
        "rabbitmq-server -detached",
        "rabbitmq-plugins enable --quiet rabbitmq_management rabbitmq_prometheus"]
    out = capsys.readouterr().out
    assert "RabbitMQ started" in out and "RabbitMQ plugins enabled" in out
    # The deployment tools cannot be had (not root): said, not failed.
    assert "promtool is not available" in out and "SKIPPED" in out


def test_check_mode_changes_nothing(machine, capsys):
    bin_dir = machine / "bin"
    fake_tool(bin_dir, "rabbitmq-server", machine / "broker-up")
    fake_tool(bin_dir, "rabbitmq-plugins", machine / "plugins-up")
    assert prepare_tests.main(["--check"]) == 0
    assert calls(bin_dir) == []
    out = capsys.readouterr().out
    assert "would run: rabbitmq-server -detached" in out


def test_a_running_prepared_machine_is_left_alone(machine, capsys):
    bin_dir = machine / "bin"
    (machine / "broker-up").touch()
    (machine / "plugins-up").touch()
    for tool in ("rabbitmq-server", "rabbitmq-plugins", "promtool", "docker-compose",
                 "faketime", "chromium", "chromedriver", "kubectl"):
        fake_tool(bin_dir, tool)
    assert prepare_tests.main([]) == 0
    assert calls(bin_dir) == []
    assert "SKIPPED" not in capsys.readouterr().out


def test_root_installs_the_missing_tools_with_apt(machine, monkeypatch, capsys):
    bin_dir = machine / "bin"
    (machine / "broker-up").touch()
    (machine / "plugins-up").touch()
    monkeypatch.setattr(prepare_tests, "is_root", lambda: True)
    # The fake apt-get "installs" by dropping promtool, docker-compose and faketime on PATH.
    apt = bin_dir / "apt-get"
    apt.write_text(f'#!/bin/sh\necho "apt-get $*" >> "{bin_dir}/calls.log"\n'
                   f'case "$*" in *install*) for t in promtool docker-compose faketime '
                   f'chromium chromedriver; do '
                   f'printf "#!/bin/sh\\n" > "{bin_dir}/$t"; chmod +x "{bin_dir}/$t"; done;; '
                   f'esac\nexit 0\n')
    apt.chmod(0o755)
    assert prepare_tests.main([]) == 0
    log = calls(bin_dir)
    assert len(log) == 2 and " update " in log[0] and log[1].endswith(
        "install -y -qq --no-install-recommends chromium chromium-driver docker-compose "
        "faketime prometheus"), log
    out = capsys.readouterr().out
    assert all(f"{tool} installed" in out for tool in ("promtool", "docker-compose", "faketime",
                                                       "chromium", "chromedriver"))


def test_a_management_api_that_cannot_be_enabled_stops_the_suite(machine, capsys):
    (machine / "broker-up").touch()
    assert prepare_tests.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rabbitmq-plugins enable rabbitmq_management" in err[0], err
