"""Every dependency admits the version Google Colab preinstalls (.ci/colab-constraints.txt).

Installing the package into Colab must change no preinstalled package (a change of an imported
one, ipywidgets above all, makes Colab ask for a runtime restart). ``scripts/colab_env.sh``
checks a real install; this checks the requirement strings themselves, for the base install
and the extras a Colab user may add.
"""

from __future__ import annotations

from pathlib import Path

import pytest

requirements = pytest.importorskip("packaging.requirements")
utils = pytest.importorskip("packaging.utils")
tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def colab_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "colab-constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[utils.canonicalize_name(name)] = version.strip()
    return pins


PINS = colab_pins()
CHECKED = [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]


def name_of(line: str) -> str:
    return utils.canonicalize_name(requirements.Requirement(line).name)


PINNED = [line for line in CHECKED if name_of(line) in PINS]


def test_the_pin_list_is_colabs_python_313_freeze():
    assert {"ipywidgets": "7.7.1", "numpy": "2.1.3", "ipykernel": "6.17.1"}.items() <= PINS.items()
    assert len(PINS) > 500  # the whole freeze, not a hand-picked subset


def test_what_colab_lacks_is_what_the_install_adds():
    missing = {name_of(line) for line in CHECKED} - set(PINS)
    assert missing == {"rosettasciio", "hdf5plugin", "zarr", "hypothesis", "ruff"}


@pytest.mark.parametrize("line", PINNED)
def test_requirement_admits_colabs_version(line):
    requirement = requirements.Requirement(line)
    pinned = PINS[name_of(line)]
    assert requirement.specifier.contains(pinned, prereleases=True), (
        f"{line!r} excludes Colab's {requirement.name}=={pinned}"
    )


def test_ipywidgets_7_and_8_are_both_admitted():
    (line,) = [d for d in PROJECT["dependencies"] if d.startswith("ipywidgets")]
    spec = requirements.Requirement(line).specifier
    assert spec.contains("7.7.1") and spec.contains("8.1.9") and not spec.contains("9.0.0")
    assert not spec.contains("7.7.0")
