"""The README's ``pcnqi`` examples, read from the README itself, so the tests run them as they
are written there: its ``sh`` block of commands and the ``text`` block of the output it
shows."""

import shlex
from datetime import date, timedelta
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "## `pcnqi`"

# The placeholders the README writes for a measure's id, a key and the service's address; a
# test against a running service puts the real ones in their place.
MEASURE_ID = "msr_0123abcd"
API_KEY = "pcn_..."
API_URL = "http://127.0.0.1:8002"

# smr.csv as the README's output describes it: 21 weeks of SMRs from Monday 5 January 2026
SMR_START = date(2026, 1, 5)
SMR = [0.52, 0.58, 0.55, 0.61, 0.54, 0.57, 0.53, 0.6, 0.56, 0.55, 0.59, 0.54, 0.57, 0.56,
       0.64, 0.62, 0.65, 0.63, 0.66, 0.64, 0.65]
SMR_CSV = "period,value\n" + "".join(
    f"{SMR_START + timedelta(weeks=i)},{value}\n" for i, value in enumerate(SMR))


def _section():
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end >= 0 else None]


def _block(language):
    """The first fenced block of ``language`` in the pcnqi section, as lines."""
    section = _section().split(f"```{language}\n", 1)[1]
    return section.split("```", 1)[0].splitlines()


def commands():
    """Each line of the section's ``sh`` block as ``(line, words)``, comments dropped."""
    return [(line, shlex.split(line, comments=True)) for line in _block("sh") if line.strip()]


def shown_output():
    """The output the README shows, with its line ends."""
    return "\n".join(_block("text")) + "\n"


def needs_the_service(words):
    """True for the commands that talk to the service (``export`` sets up for them)."""
    return words[0] == "export" or "--measure" in words


def exported(words):
    """``{"NAME": "value"}`` of an ``export NAME=value ...`` line."""
    return dict(word.split("=", 1) for word in words[1:])


def input_files(words):
    """The .csv files a ``pcnqi`` command reads."""
    return [word for word in words[2:] if word.endswith(".csv")]
