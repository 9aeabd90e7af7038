"""A dependency provider with a thread of its own that workers wake: the outbox relay and the
notifications sender run their passes in one, so no entrypoint waits for the broker, SMTP or
a webhook.

A subclass writes ``_run`` (loop while not ``_stopping``, wait on ``_wakeup`` between passes)
and may close what it holds in ``after_stop``/``after_kill``. nameko calls ``start`` once the
container runs, ``stop`` on a graceful stop (the thread finishes its pass) and ``kill`` when
the container dies (no waiting).
"""
import threading

from nameko.extensions import DependencyProvider


class BackgroundLoop(DependencyProvider):

    def __init__(self):
        self._wakeup = threading.Event()
        self._stopping = False
        self._thread = None

    def start(self):
        self._stopping = False
        self._thread = self.container.spawn_managed_thread(self._run)

    def stop(self):
        self._stopping = True
        self._wakeup.set()
        if self._thread is not None:
            self._thread.wait()
        self.after_stop()

    def kill(self):
        self._stopping = True
        self._wakeup.set()
        self.after_kill()

    def wake(self):
        """Run the next pass now rather than at the end of the current wait."""
        self._wakeup.set()

    def after_stop(self):
        """Close what the loop holds, once its thread has ended."""

    def after_kill(self):
        """Close what the loop holds when the container is killed."""

    def _run(self):
        raise NotImplementedError
