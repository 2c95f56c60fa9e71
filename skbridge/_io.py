"""Model files: :func:`save` and :func:`load` (the ``.skb`` format of the command line).

A model file is a zip archive: a JSON header, and the estimator serialised by
``torch.save``. :func:`load` reads it back with torch's restricted unpickler
(``weights_only=True``) and an allowlist of the types a skbridge model is made of
(:func:`safe_types`): the skbridge estimators, codecs, networks and reference SDEs, torch
layers, NumPy arrays and dtypes, pandas and Arrow dtypes, and the scikit-learn
preprocessing steps a pipeline usually holds. Nothing else can be constructed and no
function outside the list can be called, so opening a file from an untrusted source does
not run its code. ``load(path, trusted=True)`` unpickles without the allowlist (any
pipeline, and the files of format version 1, which were joblib pickles).
"""

from __future__ import annotations

import datetime
import functools
import importlib
import inspect
import io
import json
import pickle
import warnings
import zipfile

import joblib

__all__ = ["save", "load", "read_metadata", "safe_types", "ModelFileError"]

FORMAT = "skbridge-model"
FORMAT_VERSION = 2  # 1: a joblib pickle (model.joblib); 2: torch.save (model.pt)
_META = "skbridge.json"
_PAYLOADS = {1: "model.joblib", 2: "model.pt"}

# scikit-learn steps a pipeline around a generator usually holds (invertible preprocessing)
_SKLEARN_TYPES = (
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing.StandardScaler",
    "sklearn.preprocessing.MinMaxScaler",
    "sklearn.preprocessing.MaxAbsScaler",
    "sklearn.preprocessing.RobustScaler",
    "sklearn.preprocessing.QuantileTransformer",
    "sklearn.preprocessing.PowerTransformer",
    "sklearn.decomposition.PCA",
    "sklearn.impute.SimpleImputer",
)
# what NumPy arrays, pandas dtypes and Arrow-backed columns are rebuilt from
_DATA_TYPES = (
    "builtins.slice",
    "builtins.set",
    "builtins.frozenset",
    "builtins.complex",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy._core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar",
    "numpy.core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "pandas.CategoricalDtype",
    "pandas.StringDtype",
    "pandas.BooleanDtype",
    "pandas.Int8Dtype",
    "pandas.Int16Dtype",
    "pandas.Int32Dtype",
    "pandas.Int64Dtype",
    "pandas.UInt8Dtype",
    "pandas.UInt16Dtype",
    "pandas.UInt32Dtype",
    "pandas.UInt64Dtype",
    "pandas.Float32Dtype",
    "pandas.Float64Dtype",
    "pandas.ArrowDtype",
    "pandas.NA",
    "pandas.Index",
    "pandas.core.indexes.base._new_Index",
    "pandas.arrays.ArrowStringArray",
    "pandas.arrays.StringArray",
    "pyarrow.lib._restore_array",
    "pyarrow.lib.py_buffer",
    "pyarrow.lib.type_for_alias",
)


class ModelFileError(ValueError):
    """A file is not a readable skbridge model file (wrong kind, damaged, too new, or holding
    types that :func:`load` does not construct without ``trusted=True``)."""


def _resolve(name: str):
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):  # an optional library, or another NumPy layout
        return None


@functools.cache
def safe_types() -> tuple:
    """The types and functions :func:`load` lets a model file construct or call.

    skbridge's estimators, codecs (and their column records), networks (torch modules) and
    reference SDEs; the torch layers they are built from; NumPy, pandas and Arrow data
    types; the common scikit-learn preprocessing steps and ``Pipeline``. None of them
    reads or writes files or runs code given to it.
    """
    import torch
    from sklearn.base import BaseEstimator

    from . import data, models, nets, sde
    from .data._sequence import _EndToken
    from .data._tabular import _Column

    found = {_Column, _EndToken}
    for package in (models, data, nets, sde):
        for module_name in _submodules(package):
            module = importlib.import_module(module_name)
            for obj in vars(module).values():
                if (
                    inspect.isclass(obj)
                    and obj.__module__.startswith("skbridge.")
                    and issubclass(obj, (BaseEstimator, torch.nn.Module, sde.ReferenceSDE))
                ):
                    found.add(obj)
    import numpy.dtypes

    for obj in vars(numpy.dtypes).values():  # the classes of NumPy's dtypes
        if inspect.isclass(obj) and issubclass(obj, numpy.dtype):
            found.add(obj)
    for obj in vars(torch.nn).values():  # layers, activations, containers
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module):
            found.add(obj)
    for name in _SKLEARN_TYPES + _DATA_TYPES:
        obj = _resolve(name)
        if obj is not None:  # a named object (pandas.NA) goes with its name
            found.add(obj if hasattr(obj, "__qualname__") else (obj, name))
    return tuple(sorted(found, key=repr))


def _submodules(package) -> list[str]:
    import pkgutil

    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def save(model, path, *, metadata=None) -> None:
    """Write a skbridge estimator (fitted or not, or a ``Pipeline`` holding one) to ``path``.

    The file is a zip archive holding a JSON header (format version, the versions of
    skbridge, torch and scikit-learn, the class, its parameters, whether it is fitted, and
    ``metadata``) and the estimator itself, serialised by ``torch.save``. Torch tensors are
    stored on the CPU, so a model fitted on a GPU opens on a machine without one.
    :func:`read_metadata` reads the header without unpickling anything, and :func:`load`
    constructs only the types of :func:`safe_types`.

    Parameters
    ----------
    model : estimator
        The estimator to store.
    path : str or path-like
        Destination; ``.skb`` is the conventional extension. An existing file is replaced.
    metadata : dict, optional
        Extra JSON-serialisable information stored in the header (the command line records
        the input file and how its columns were read).
    """
    import sklearn
    import torch
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    try:
        check_is_fitted(model)
        fitted = True
    except (NotFittedError, TypeError):
        fitted = False
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skbridge_version": __version__,
        "torch_version": torch.__version__,
        "sklearn_version": sklearn.__version__,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "params": _jsonable(model.get_params(deep=False)) if hasattr(model, "get_params") else {},
        "fitted": fitted,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "metadata": _jsonable(dict(metadata or {})),
    }
    buffer = io.BytesIO()
    torch.save(model, buffer)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META, json.dumps(header, indent=2))
        zf.writestr(_PAYLOADS[FORMAT_VERSION], buffer.getvalue())


def read_metadata(path) -> dict:
    """The JSON header of a model file written by :func:`save`, read without unpickling.

    Raises
    ------
    ModelFileError
        If ``path`` is not a skbridge model file, or one written by a newer format version.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            header = json.loads(zf.read(_META).decode("utf-8"))
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"{path} is not a skbridge model file (write one with skbridge.save or "
            "`skbridge fit ... -o model.skb`)"
        ) from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a skbridge model file")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model-file format version {version!r}; this skbridge reads versions "
            f"up to {FORMAT_VERSION}: upgrade skbridge to open it"
        )
    return header


def load(path, *, trusted=False):
    """Read an estimator written by :func:`save`, without running code from the file.

    The header is checked first (:class:`ModelFileError` for a file of another kind); a
    file written by another skbridge version is read with a warning. The estimator is then
    rebuilt by torch's restricted unpickler, which constructs only the types listed by
    :func:`safe_types` and calls no other function: a file crafted to run code when opened
    (as any pickle can) is refused with :class:`ModelFileError` instead.

    Parameters
    ----------
    path : str or path-like
    trusted : bool, default=False
        Unpickle without the allowlist: for a pipeline with steps outside it, and for files
        of format version 1 (joblib pickles). Unpickling can run code: only for files you
        trust (ones you or your colleagues wrote).

    Returns
    -------
    estimator
    """
    import torch

    from . import __version__

    header = read_metadata(path)
    if header.get("skbridge_version") != __version__:
        warnings.warn(
            f"{path} was written by skbridge {header.get('skbridge_version')}; this is "
            f"{__version__}. Check its samples before relying on them.",
            UserWarning,
            stacklevel=2,
        )
    version = header["format_version"]
    name = _PAYLOADS.get(version, _PAYLOADS[FORMAT_VERSION])
    with zipfile.ZipFile(path) as zf:
        try:
            payload = zf.read(name)
        except KeyError as exc:
            raise ModelFileError(f"{path} is damaged: it has no {name}") from exc
    if version == 1:
        if not trusted:
            raise ModelFileError(
                f"{path} was written by an earlier skbridge as a joblib pickle, which can run "
                "code when opened. If you trust the file, open it with "
                "skbridge.load(path, trusted=True) (`--trusted` on the command line) and save "
                "it again: the new format opens safely."
            )
        return joblib.load(io.BytesIO(payload))
    if trusted:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    try:
        with torch.serialization.safe_globals(list(safe_types())):
            return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [ln for ln in str(exc).splitlines() if "GLOBAL" in ln or "but got" in ln]
        what = lines[0].strip()[:300] if lines else type(exc).__name__
        raise ModelFileError(
            f"{path} holds something skbridge does not open without trusting the file "
            f"({what}). A pipeline with steps beyond skbridge's models and common "
            "scikit-learn preprocessing needs skbridge.load(path, trusted=True), which "
            "unpickles it and can run code: only for files you trust."
        ) from None
