"""The exit statuses of ``pcnqi``, for scripts, and the error that ends a command with one."""

import textwrap

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_NOT_FOUND = 4
EXIT_SERVICE_ERROR = 5
EXIT_STATUSES = (
    (EXIT_OK, "done"),
    (EXIT_REFUSED, "refused input: the file is unreadable or invalid, or the service refused "
                   "rows (named by line and field)"),
    (EXIT_USAGE, "bad or missing arguments, or PCN_API_KEY not set"),
    (EXIT_UNREACHABLE, "the service is unreachable or refused the key (401/403): run the "
                       "same command again later"),
    (EXIT_NOT_FOUND, "no such measure (or practice) for this key (404)"),
    (EXIT_SERVICE_ERROR, "the service failed or answered something unexpected"),
)


class CommandFailed(Exception):
    """Ends a command: ``message`` (one line or more) for stderr, and the exit status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def exit_status_text() -> str:
    """The exit statuses as ``--help`` lists them."""
    return "exit status:\n" + "\n".join(
        textwrap.fill(what, 88, initial_indent=f"  {code}  ", subsequent_indent=" " * 5)
        for code, what in EXIT_STATUSES)
