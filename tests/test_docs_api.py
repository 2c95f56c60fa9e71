"""The API reference (docs/api.rst) lists every public name: a name added to a
subpackage's ``__all__`` without an entry there fails here."""

import importlib
import re
from pathlib import Path

import pytest

API_RST = Path(__file__).resolve().parent.parent / "docs" / "api.rst"

# the modules whose public names the reference must list
MODULES = [
    "skbridge",
    "skbridge.data",
    "skbridge.metrics",
    "skbridge.sde",
    "skbridge.nets",
    "skbridge.plotting",
    "skbridge.distributed",
]

_MODULE_DIRECTIVE = re.compile(r"^\.\. (?:py:)?(?:currentmodule|module|automodule):: *(\S+)")
_OBJECT_DIRECTIVE = re.compile(
    r"^\s*\.\. (?:py:)?(?:auto)?(?:data|function|class|exception|attribute):: *(\S+)"
)


def documented_names(text: str) -> set[str]:
    """Fully qualified names that api.rst documents: autosummary entries and object
    directives (``autodata``, ``data``, ``autofunction``, ...), each under the module that
    the last ``currentmodule`` / ``module`` / ``automodule`` set."""
    names, module, in_autosummary = set(), None, False

    def qualify(name):
        return name if name.startswith("skbridge.") or module is None else f"{module}.{name}"

    for line in text.splitlines():
        if in_autosummary:
            if not line.strip() or line.lstrip().startswith(":"):
                continue
            if line[0].isspace():
                names.add(qualify(line.strip().lstrip("~")))
                continue
            in_autosummary = False
        if m := _MODULE_DIRECTIVE.match(line):
            module = m.group(1)
        elif line.startswith(".. autosummary::"):
            in_autosummary = True
        elif m := _OBJECT_DIRECTIVE.match(line):
            names.add(qualify(m.group(1)))
    return names


def public_names(module) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name in vars(module) if not name.startswith("_")]


@pytest.fixture(scope="module")
def documented():
    return documented_names(API_RST.read_text(encoding="utf-8"))


@pytest.mark.parametrize("modname", MODULES)
def test_every_public_name_is_in_the_api_reference(modname, documented):
    module = importlib.import_module(modname)
    missing = [n for n in public_names(module) if f"{modname}.{n}" not in documented]
    assert not missing, f"{modname}: public names without an entry in docs/api.rst: {missing}"


def test_every_api_entry_exists(documented):
    """The other way round: an entry for a name that is gone fails here too (the Sphinx
    build would also fail, but CI runs the tests first)."""
    stale = []
    for qualname in sorted(documented):
        modname, _, name = qualname.rpartition(".")
        try:
            module = importlib.import_module(modname)
        except ImportError:
            stale.append(qualname)
            continue
        if not hasattr(module, name):
            stale.append(qualname)
    assert not stale, f"docs/api.rst documents names that do not exist: {stale}"


def test_parser_sees_autosummary_entries_and_data_directives():
    text = """
.. currentmodule:: skbridge.sde

.. autosummary::
   :toctree: generated/

   VPSDE
   time_grid

Heading
-------

.. autodata:: SAMPLERS

.. currentmodule:: skbridge

.. data:: __version__
"""
    assert documented_names(text) == {
        "skbridge.sde.VPSDE",
        "skbridge.sde.time_grid",
        "skbridge.sde.SAMPLERS",
        "skbridge.__version__",
    }
