"""Sphinx configuration for the skbridge documentation.

Build (from the repository root)::

    pip install -e ".[docs]"
    SKBRIDGE_QUICK=1 python -m sphinx -W --keep-going -b html docs docs/_build/html
    SKBRIDGE_QUICK=1 python -m sphinx -W -b doctest docs docs/_build/doctest

Nothing here needs the network: no intersphinx, no remote images or fonts.
"""

import importlib.util
import os
import sys
from pathlib import Path

# the gallery runs every example in quick mode (tiny sizes) unless told otherwise
os.environ.setdefault("SKBRIDGE_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# one torch thread: the quick examples' tiny networks gain nothing from more, and on a
# loaded 2-core machine two threads made them several times slower (set before torch loads)
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import skbridge  # noqa: E402

project = "skbridge"
author = "skbridge developers"
copyright = "skbridge developers"
version = release = skbridge.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]

# broken internal cross-references are errors (with -W); intersphinx is not configured
# (the build must work offline), so third-party types cannot resolve and are ignored here
nitpicky = True
nitpick_ignore_regex = [
    (r"py:class", r"(sklearn|torch|numpy|scipy|pandas|networkx|matplotlib)\..*"),
    (r"py:class", r"Module"),  # torch.nn.Module, in the forward() docstring torch gives
]

# -- MyST (the Markdown pages) ----------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# -- autodoc / autosummary / numpydoc ----------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- sphinx-gallery ------------------------------------------------------------------------
_gallery_ignore = []
if importlib.util.find_spec("rdkit") is None or importlib.util.find_spec("qm9pack") is None:
    _gallery_ignore.append(r"molecules\.py$")  # needs rdkit and the qm9pack data wheel

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # run every example (in quick mode)
    "ignore_pattern": r"(__init__\.py|" + "|".join(_gallery_ignore or ["$^"]) + r")",
    "download_all_examples": False,
    "plot_gallery": "True",
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "capture_repr": (),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "min_reported_time": 0,
}

# -- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skbridge {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False


def _drop_builtin_docstrings(app, what, name, obj, options, lines):
    """A constant (a tuple of names) would show the docstring of ``tuple``: drop it; the
    description is written in api.rst."""
    if what in ("data", "attribute") and type(obj).__module__ == "builtins":
        lines[:] = []


# Markdown links that leave docs/ for a file the site renders under another name: they
# stay file links (GitHub renders them; tests/test_docs_links.py checks that they exist),
# and are pointed at the site's page when Sphinx reads the page.
SITE_LINKS = {
    "](../benchmarks/README.md": "](benchmarks.md",
    "](../examples/)": "](auto_examples/index.rst)",
}


def _site_links(app, docname, source):
    for old, new in SITE_LINKS.items():
        source[0] = source[0].replace(old, new)


def setup(app):
    app.connect("autodoc-process-docstring", _drop_builtin_docstrings)
    app.connect("source-read", _site_links)
