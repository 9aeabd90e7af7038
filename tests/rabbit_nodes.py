"""Private RabbitMQ nodes started by a test, so that stopping, killing or restarting one disturbs
nobody else on the shared broker.

Each node runs this machine's RabbitMQ (3.10, ``/usr/lib/rabbitmq/bin``) as the current user with
its own node name, AMQP and distribution ports, data, log and config files under ``base_dir``, no
plugins (so no management or prometheus port to clash with), and an Erlang cookie of its own
(``base_dir/.erlang.cookie``, shared by the nodes of one ``base_dir`` so they can cluster).
The shared epmd (4369) is used, as every Erlang node on the machine does.

    node = RabbitNode("faults", tmp_path)
    node.start()            # returns once the node accepts AMQP logins
    node.amqp_uri           # amqp://guest:guest@127.0.0.1:<port>/
    node.stop_app(); node.start_app(); node.restart(); node.kill(); node.stop()
    kill_at_once(node_a, node_b)   # both down before the others notice either

    nodes = start_cluster(3, tmp_path)   # three nodes joined into one cluster

The ``rabbit_nodes`` fixture makes nodes and stops every one of them at the end of the test,
even when it fails.
"""
import atexit
import os
import random
import secrets
import signal
import socket
import subprocess
import time
import uuid

import amqp
import pytest

RABBITMQ_BIN = "/usr/lib/rabbitmq/bin"
# Ports the shared broker and its plugins use, and a range clear of the kernel's ephemeral ports
# (so that a client socket cannot take a stopped node's port before it comes back).
RESERVED_PORTS = {4369, 5672, 15672, 15692, 25672}
PORT_RANGE = (20000, 30000)
# rabbitmqctl's own distribution ports are RABBITMQ_CTL_DIST_PORT_MIN..+10 (35672.. by default).


def require_rabbitmq_server():
    """Skip the calling test, saying why, where RabbitMQ's server scripts are not installed."""
    if not os.access(os.path.join(RABBITMQ_BIN, "rabbitmq-server"), os.X_OK):
        pytest.skip(f"no RabbitMQ server in {RABBITMQ_BIN} to start private nodes from "
                    "(Debian/Ubuntu package rabbitmq-server)")


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on now, outside the ephemeral range."""
    for _ in range(200):
        port = random.randint(*PORT_RANGE)
        if port in RESERVED_PORTS:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found for a private RabbitMQ node")


class RabbitNodeError(RuntimeError):
    pass


# Nodes run in sessions of their own, so an interrupted test run would leave them behind;
# whatever is still running when Python exits is killed.
LIVE_NODES = set()


@atexit.register
def _kill_leftover_nodes():
    for node in list(LIVE_NODES):
        node.kill()


class RabbitNode:
    """One private RabbitMQ node; its files live in ``base_dir/<name>``."""

    def __init__(self, name, base_dir, amqp_port=None, dist_port=None):
        self.name = name
        self.base_dir = os.fspath(base_dir)
        self.node_dir = os.path.join(self.base_dir, name)
        # A unique node name: a crashed earlier run's node cannot hold this name in epmd.
        self.nodename = f"{name}-{uuid.uuid4().hex[:6]}@localhost"
        self.amqp_port = amqp_port or free_port()
        self.dist_port = dist_port or free_port()
        self.process = None
        self._write_files()

    @property
    def amqp_uri(self):
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    def _write_files(self):
        os.makedirs(os.path.join(self.node_dir, "log"), exist_ok=True)
        cookie = os.path.join(self.base_dir, ".erlang.cookie")
        if not os.path.exists(cookie):
            with open(os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400), "w") as out:
                out.write(secrets.token_hex(16).upper())
        with open(self._path("rabbitmq.conf"), "w") as out:
            out.write(f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}\n"
                      "log.console = false\n"
                      "log.file.level = info\n")
        with open(self._path("enabled_plugins"), "w") as out:
            out.write("[].\n")
        # Our own env file, so the machine's /etc/rabbitmq/rabbitmq-env.conf (which names the
        # shared node) is not read.
        with open(self._path("rabbitmq-env.conf"), "w") as out:
            out.write("ERL_EPMD_ADDRESS=127.0.0.1\n")

    def _path(self, *parts):
        return os.path.join(self.node_dir, *parts)

    def _environment(self):
        return {
            **os.environ,
            "HOME": self.base_dir,  # where Erlang reads the cookie
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": self._path("rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": self._path("rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": self._path("advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": self._path("enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": self._path("mnesia"),
            "RABBITMQ_LOG_BASE": self._path("log"),
            "RABBITMQ_PID_FILE": self._path("beam.pid"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": self._path("plugins-expand"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout=60):
        """Start the node (with the data it has, if it ran before) and return once it accepts
        AMQP logins; raises with the tail of its log if it does not within ``timeout``."""
        self.launch()
        self.wait_for_amqp(timeout)
        return self

    def launch(self):
        """Start the node's VM without waiting for it (``wait_for_amqp`` waits)."""
        if self.running:
            raise RabbitNodeError(f"{self.nodename} is already running")
        self._startup_log = open(self._path("log", "startup.log"), "ab")
        # Its own session, so kill() can take the wrapper shell and every Erlang helper at once.
        self.process = subprocess.Popen(
            [os.path.join(RABBITMQ_BIN, "rabbitmq-server")], env=self._environment(),
            cwd=self.node_dir, stdin=subprocess.DEVNULL, stdout=self._startup_log,
            stderr=subprocess.STDOUT, start_new_session=True)
        LIVE_NODES.add(self)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def wait_for_amqp(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RabbitNodeError(f"{self.nodename} exited while starting:\n{self.log_tail()}")
            if self.accepts_amqp():
                return
            if time.monotonic() > deadline:
                raise RabbitNodeError(f"{self.nodename} did not accept AMQP within {timeout} s:\n"
                                      f"{self.log_tail()}")
            time.sleep(0.2)

    def accepts_amqp(self):
        connection = amqp.Connection(f"127.0.0.1:{self.amqp_port}", userid="guest",
                                     password="guest", connect_timeout=1)
        try:
            connection.connect()
            return True
        except (OSError, amqp.exceptions.AMQPError):
            return False
        finally:
            try:
                connection.collect()
            except Exception:  # noqa: BLE001 - a half-open probe has nothing worth reporting
                pass

    def stop_app(self):
        """Stop RabbitMQ inside the running Erlang VM (connections drop, the VM stays)."""
        self.rabbitmqctl("stop_app")

    def start_app(self, timeout=60):
        self.rabbitmqctl("start_app", timeout=timeout)
        self.wait_for_amqp(timeout)

    def stop(self, timeout=60):
        """Stop the node cleanly (SIGTERM: the start script stops the broker gracefully);
        SIGKILL after ``timeout``. Safe to call on a node that is not running."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap()

    def kill(self):
        """SIGKILL the Erlang VM and its helpers, as a power cut or the OOM killer would."""
        kill_at_once(self)

    def _signal_kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _reap(self):
        self.process = None
        LIVE_NODES.discard(self)
        self._startup_log.close()
        # A killed node leaves its name registered with epmd for a moment; wait it out so a
        # restart under the same name does not fail with "node name already in use".
        deadline = time.monotonic() + 10
        short_name = self.nodename.split("@")[0]
        while time.monotonic() < deadline and short_name in epmd_names():
            time.sleep(0.1)

    def restart(self, timeout=60):
        self.stop()
        self.start(timeout)

    def rabbitmqctl(self, *args, timeout=60):
        """Run ``rabbitmqctl -n <this node> *args`` and return its stdout."""
        result = subprocess.run([os.path.join(RABBITMQ_BIN, "rabbitmqctl"), "-n", self.nodename,
                                 *args], env=self._environment(), cwd=self.node_dir,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise RabbitNodeError(f"rabbitmqctl {' '.join(args)} on {self.nodename} failed "
                                  f"({result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout

    def log_tail(self, lines=40):
        text = []
        for name in ("startup.log", f"{self.nodename}.log"):
            try:
                with open(self._path("log", name), errors="replace") as log:
                    text.append(f"--- {name}\n" + "".join(log.readlines()[-lines:]))
            except OSError:
                continue
        return "\n".join(text)

    def __repr__(self):
        return f"<RabbitNode {self.nodename} amqp={self.amqp_port} dist={self.dist_port}>"


def kill_at_once(*nodes):
    """SIGKILL every running one of ``nodes`` before reaping any, so that the survivors of a
    cluster see them go together (no quorum queue elects a leader among them in between)."""
    running = [node for node in nodes if node.process is not None]
    for node in running:
        node._signal_kill()
    for node in running:
        node.process.wait(30)
        node._reap()


def epmd_names():
    """The short node names registered with the local epmd now."""
    try:
        output = subprocess.run(["epmd", "-names"], capture_output=True, text=True,
                                timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.split()[1] for line in output.splitlines() if line.startswith("name ")}


def start_cluster(count, base_dir, timeout=90, nodes_out=None):
    """Start ``count`` nodes in ``base_dir`` and join them into one cluster (the first node is
    the seed); returns the nodes, all running. ``nodes_out`` (a list) receives each node as soon
    as it exists, so a caller can stop them even when a later step fails."""
    nodes = nodes_out if nodes_out is not None else []
    for index in range(count):
        nodes.append(RabbitNode(f"cluster{index + 1}", base_dir))
    # Boot them side by side (most of a start is the VM booting), then join one by one.
    for node in nodes:
        node.launch()
    for node in nodes:
        node.wait_for_amqp(timeout)
    for node in nodes[1:]:
        node.stop_app()
        node.rabbitmqctl("reset")
        node.rabbitmqctl("join_cluster", nodes[0].nodename)
        node.start_app(timeout)
    return nodes


@pytest.fixture
def rabbit_nodes(tmp_path_factory):
    """A factory of private nodes: ``rabbit_nodes.node(name)`` (started) or
    ``rabbit_nodes.cluster(count)``; every node it made is stopped at test end."""
    require_rabbitmq_server()
    made = []
    base_dir = tmp_path_factory.mktemp("rabbit")

    class Factory:
        @staticmethod
        def node(name="private", timeout=60):
            node = RabbitNode(name, base_dir)
            made.append(node)
            return node.start(timeout)

        @staticmethod
        def cluster(count=3, timeout=90):
            return start_cluster(count, base_dir, timeout, nodes_out=made)

    yield Factory
    for node in made:
        try:
            node.stop(timeout=30)
        except Exception:  # noqa: BLE001 - stop the others whatever one of them does
            node.kill()
