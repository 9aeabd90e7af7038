"""The progress bar of a long upload."""

PROGRESS_BAR_WIDTH = 30


class Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, one line per
    step otherwise (logs, CI)."""

    def __init__(self, total, stream, enabled=True):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.in_place = enabled and getattr(stream, "isatty", lambda: False)()

    def show(self, done):
        if not self.enabled:
            return
        filled = PROGRESS_BAR_WIDTH * done // self.total if self.total else PROGRESS_BAR_WIDTH
        bar = "#" * filled + "." * (PROGRESS_BAR_WIDTH - filled)
        text = f"[{bar}] {done}/{self.total} rows ({100 * done // max(self.total, 1)}%)"
        if self.in_place:
            self.stream.write("\r" + text + ("\n" if done >= self.total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def stop(self):
        if self.in_place:
            self.stream.write("\n")
            self.stream.flush()
