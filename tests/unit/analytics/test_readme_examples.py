"""Each ``pcnqi`` example in the README runs as written: the installed ``pcnqi`` script, in a
folder holding the files the examples name. Those that need the service are run against a
running one by tests/integration/test_cli_service.py."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.analytics import readme_examples

PCNQI = Path(sys.executable).parent / "pcnqi"  # the console script pyproject.toml installs
LOCAL = [(line, words) for line, words in readme_examples.commands()
         if not readme_examples.needs_the_service(words)]
FILES = {"smr.csv": readme_examples.SMR_CSV}


def test_the_readme_has_examples_of_both_kinds():
    assert LOCAL and len(LOCAL) < len(readme_examples.commands())
    assert all(words[0] in ("pcnqi", "export") for _, words in readme_examples.commands())


@pytest.mark.parametrize("line, words", LOCAL, ids=[line for line, _ in LOCAL])
def test_a_local_example_runs_as_written(tmp_path, line, words):
    assert words[0] == "pcnqi"
    for name in readme_examples.input_files(words):
        assert name in FILES, f"the README names {name}: give this test its content"
        (tmp_path / name).write_text(FILES[name], encoding="utf-8")
    process = subprocess.run([str(PCNQI), *words[1:]], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""
    if "-o" in words:
        written = tmp_path / words[words.index("-o") + 1]
        assert written.stat().st_size > 1000
    if words[1] == "spc" and "--format" not in words:
        assert process.stdout == readme_examples.shown_output()
    if "--format" in words and words[words.index("--format") + 1] == "csv":
        assert process.stdout.startswith("date,value,mean,lpl,upl,")
        assert len(process.stdout.splitlines()) == 1 + len(readme_examples.SMR)
