"""The minimum versions that continuous integration tests are those declared."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _declared():
    """Lower bounds of install_requires and of the plot extra, by package name."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    requirements = config["options"]["install_requires"].strip().splitlines()
    requirements += config["options.extras_require"]["plot"].strip().splitlines()
    bounds = {}
    for line in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([\d.]+)", line.strip())
        assert match, f"setup.cfg: no lower bound in {line.strip()!r}"
        bounds[match.group(1).lower()] = match.group(2)
    return bounds


def _release(version):
    """'1.22' and '1.22.0' name the same release."""
    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def test_ci_pins_every_dependency_at_its_declared_lower_bound():
    bounds = _declared()
    pins = {}
    for line in (ROOT / ".ci" / "min-requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    assert sorted(pins) == sorted(bounds)
    for name, bound in bounds.items():
        assert _release(pins[name]) == _release(bound), name
