"""One place that builds an effect from a method name: the CLI, the dashboard, the pitch
protocol, the scoreboard, live and the demo all call :func:`make_effect`.

Methods that play a trained run take ``model``; the classical baselines take ``target``.
Options are the effect's own keyword parameters; an unknown one is a one-line error.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from workbench.errors import ParameterError

if TYPE_CHECKING:
    from effects.base import Effect

__all__ = ["METHODS", "MODEL_METHODS", "TARGET_METHODS", "make_effect", "effect_class"]

MODEL_METHODS = ("autoencoder", "ddsp", "latent-mix")
TARGET_METHODS = ("cepstral", "mosaic")
METHODS = (*MODEL_METHODS, *TARGET_METHODS, "dry")


def effect_class(method: str) -> type[Effect]:
    """The Effect class of a method, imported on demand (torch models load only when asked for).

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.

    Returns
    -------
    type
        The :class:`~effects.base.Effect` subclass.

    Raises
    ------
    ParameterError
        An unknown method.
    """
    if method == "autoencoder":
        from effects.autoencoder import AutoencoderEffect as cls
    elif method == "ddsp":
        from effects.ddsp import DDSPEffect as cls
    elif method == "latent-mix":
        from effects.latent_mix import LatentMixEffect as cls
    elif method == "cepstral":
        from effects.cepstral import CepstralEffect as cls
    elif method == "mosaic":
        from effects.mosaic import MosaicEffect as cls
    elif method == "dry":
        from effects.dry import DryEffect as cls
    else:
        raise ParameterError(f"method={method!r} is not valid; expected one of {', '.join(METHODS)}")
    return cls


def make_effect(method: str, **options: object) -> Effect:
    """Build the effect of ``method`` with ``options`` (its keyword parameters).

    ``model`` (a run folder) is required by the autoencoder, ddsp and latent-mix methods;
    ``target`` (an audio file, a folder, a corpus selection, or for mosaic a saved index folder)
    by cepstral and mosaic. Options left at ``None`` take the effect's defaults.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    **options
        The effect's keyword parameters.

    Returns
    -------
    Effect
        Built, not prepared (a mosaic target that is a saved index folder is loaded as the index).

    Raises
    ------
    ParameterError
        An unknown method, a missing model or target, an option the method does not take, or
        any invalid value (from the effect itself).

    Examples
    --------
    >>> fx = make_effect("cepstral", target="data/trumpet", mix=0.8)  # doctest: +SKIP
    >>> make_effect("dry").latency_samples
    0
    """
    cls = effect_class(method)
    options = {k: v for k, v in options.items() if v is not None}
    if method in MODEL_METHODS and not options.get("model"):
        raise ParameterError(f"method {method!r} needs a model (a run folder from `workbench train"
                             f"{' --method ddsp' if method == 'ddsp' else ''}`)")
    if method in TARGET_METHODS and not options.get("target"):
        raise ParameterError(f"method {method!r} needs a target (audio file, folder or CORPUS:key=value)")
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ParameterError(f"method {method!r} has no option {unknown[0]!r}; expected one of {', '.join(accepted)}")
    if method == "mosaic":
        from effects.mosaic import MosaicIndex

        if not hasattr(options["target"], "params") and MosaicIndex.is_saved(options["target"]):
            options["target"] = MosaicIndex.load(options["target"])
    return cls(**options)
