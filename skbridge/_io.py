"""Model files: :func:`save` and :func:`load` (the ``.skb`` format of the command line)."""

from __future__ import annotations

import datetime
import io
import json
import warnings
import zipfile

import joblib

__all__ = ["save", "load", "read_metadata", "ModelFileError"]

FORMAT = "skbridge-model"
FORMAT_VERSION = 1
_META = "skbridge.json"
_PAYLOAD = "model.joblib"


class ModelFileError(ValueError):
    """A file is not a readable skbridge model file (wrong kind, damaged, or too new)."""


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
    ``metadata``) and the estimator itself, pickled with joblib. Torch tensors are stored on
    the CPU, so a model fitted on a GPU opens on a machine without one. :func:`read_metadata`
    reads the header without unpickling anything.

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
    joblib.dump(model, buffer)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_META, json.dumps(header, indent=2))
        zf.writestr(_PAYLOAD, buffer.getvalue())


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


def load(path):
    """Read an estimator written by :func:`save`.

    The header is checked first (:class:`ModelFileError` for a file of another kind); a
    file written by another skbridge version is read with a warning.

    Loading unpickles the estimator, and unpickling can run code: open only model files you
    trust (ones you or your colleagues wrote), as with any pickle or joblib file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator
    """
    from . import __version__

    header = read_metadata(path)
    if header.get("skbridge_version") != __version__:
        warnings.warn(
            f"{path} was written by skbridge {header.get('skbridge_version')}; this is "
            f"{__version__}. Check its samples before relying on them.",
            UserWarning,
            stacklevel=2,
        )
    with zipfile.ZipFile(path) as zf:
        try:
            payload = zf.read(_PAYLOAD)
        except KeyError as exc:
            raise ModelFileError(f"{path} is damaged: it has no {_PAYLOAD}") from exc
    return joblib.load(io.BytesIO(payload))
