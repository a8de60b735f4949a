"""Did installing a package change anything that was installed before? (``pip freeze`` diff)

    python scripts/check_preinstalled.py before.txt after.txt [--pins .ci/colab-constraints.txt]

``before.txt`` and ``after.txt`` are ``pip freeze`` outputs of one environment before and after
``pip install <wheel>``. Exit status 1, with one line per package, if a package present before
has another version after, or is gone; 0 otherwise, with the packages the install added.
``--pins`` (Colab's whole freeze as ``name==version`` lines) also fails on an added package
that the real runtime has at another version: the test environment holds only part of Colab's
packages, so such a package must join ``.ci/colab-requirements.txt`` to be checked for real.
Standard library only (it runs in any environment).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it (``Typing_Extensions``: ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_freeze(text: str) -> dict[str, str]:
    """``{normalized name: version}`` from ``pip freeze`` / constraints text.

    ``name==version`` lines give the version; ``name @ URL`` lines (direct or editable installs)
    give the URL; ``-e`` lines, options, comments and blank lines are skipped.
    """
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        if "==" in line:
            name, version = line.split("==", 1)
        elif " @ " in line:
            name, version = line.split(" @ ", 1)
        else:
            continue
        found[normalize(name.split("[")[0].strip())] = version.split(";")[0].strip()
    return found


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What an install did to an environment (names normalized, versions as frozen)."""

    changed: dict[str, tuple[str, str]]  # name: (before, after)
    removed: dict[str, str]  # name: version before
    added: dict[str, str]  # name: version after
    off_pin: dict[str, tuple[str, str]]  # added, pinned elsewhere: name: (pin, after)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.removed or self.off_pin)

    def lines(self) -> list[str]:
        """One human-readable line per problem (empty when :attr:`ok`)."""
        out = [f"changed: {n} {old} -> {new}" for n, (old, new) in sorted(self.changed.items())]
        out += [f"removed: {n} {old}" for n, old in sorted(self.removed.items())]
        out += [
            f"added at another version than the runtime's pin: {n} {new} (pinned {pin}); "
            f"add {n} to .ci/colab-requirements.txt so the check sees what pip does to it"
            for n, (pin, new) in sorted(self.off_pin.items())
        ]
        return out


def compare(
    before: dict[str, str], after: dict[str, str], pins: dict[str, str] | None = None
) -> Comparison:
    """Compare two :func:`parse_freeze` results, optionally against the runtime's pins."""
    changed = {n: (v, after[n]) for n, v in before.items() if n in after and after[n] != v}
    removed = {n: v for n, v in before.items() if n not in after}
    added = {n: v for n, v in after.items() if n not in before}
    pins = pins or {}
    off_pin = {n: (pins[n], v) for n, v in added.items() if n in pins and pins[n] != v}
    return Comparison(changed, removed, added, off_pin)


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="pip freeze before the install")
    parser.add_argument("after", type=Path, help="pip freeze after the install")
    parser.add_argument("--pins", type=Path, help="the runtime's whole freeze (name==version)")
    args = parser.parse_args(argv)
    pins = parse_freeze(args.pins.read_text()) if args.pins else None
    before = parse_freeze(args.before.read_text())
    result = compare(before, parse_freeze(args.after.read_text()), pins)
    if not result.ok:
        print("the install changed preinstalled packages:", file=sys.stderr)
        for line in result.lines():
            print(f"  {line}", file=sys.stderr)
        return 1
    added = ", ".join(
        f"{n} @ {v}" if "://" in v else f"{n}=={v}" for n, v in sorted(result.added.items())
    )
    print(f"{len(before)} preinstalled packages unchanged; added: {added}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
