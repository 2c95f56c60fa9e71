"""The diffusion estimators' shared machinery: fit skeleton, sampling and chain-ELBO scoring.

:class:`~skbridge.SBVAE` and :class:`~skbridge.ScoreSDE` differ only in what they do with the
encoder: :meth:`DiffusionEstimator._train` is the hook (ScoreSDE trains the decoder by
denoising score matching against the reference; SBVAE adds its encoder phase, in
``_sbvae.py``). Everything else (validation, the decoder and its training, the time grid,
sampling, ``score_samples``) lives here and in ``_decoder.py``, so both run the same code.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._base import as_numpy, torch_generator
from ..data._dequantize import dequantize
from ..nets import drift_network
from ..sde import (
    ELBO_FORMS,
    REFERENCE_SDES,
    SAMPLERS,
    TIME_GRIDS,
    chain_elbo,
    decoder_chain,
    dpm_solver,
    make_reference_sde,
    plugin_diagnostics,
    predictor_corrector,
    probability_flow,
    sampling_grid,
    time_grid,
    uses_exact_divergence,
)
from ._base import GeneratorEstimator, row_draws
from ._decoder import (
    DecoderSettings,
    DecoderTraining,
    DiscreteHeads,
    LevelEntries,
    NoiseDecoder,
    OneHotBlocks,
)
from ._training import adopt_history, build_seeded, prepare_fit

__all__ = ["DiffusionEstimator", "auto_n_steps", "auto_sampler", "auto_sampling_steps"]

_SCORE_CHUNK = 4096
_SAMPLE_CHUNK = 65536


def _to_tensor(a: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(device)


# ------------------------------------------------------------- "auto" settings
# What n_steps="auto" and sampler="auto" mean, by modality: decided here and nowhere else.
def auto_n_steps(codec) -> int:
    """The grid of ``n_steps="auto"``: 300 steps for graphs without edge attributes, where
    on 100 the chain ELBO was 19 nats per Community-small graph looser and a drift-matching
    decoder's orbit MMD² about twice as large (samples from score matching unchanged within
    noise; benchmarks/README.md); 100 elsewhere. With edge attributes (QM9 molecules) the
    300-step grid tightened the bound (-33.9 against -49.1 nats) but lowered ScoreSDE's
    validity from 0.697 to 0.635."""
    if codec.modality == "graph" and _edge_attr(codec) is None:
        return 300
    return 100


# the predictor-corrector's steps for sampling_steps="auto" when n_steps is "auto" too
_PC_AUTO_STEPS = 100


def auto_sampling_steps(
    n_steps, resolved_n_steps: int, sampler: str, score_matching: bool = True
) -> int:
    """The sampler's steps of ``sampling_steps="auto"``: the grid's ``resolved_n_steps``,
    except the predictor-corrector (two network evaluations a step) of a decoder trained by
    score matching with ``n_steps="auto"``, which takes at most 100 (a kept SB-VAE encoder's
    drift-matching decoder is trained on the grid's steps, and sampled worse graphs on 100
    steps than on 300: ``auto_n_steps``). On Community-small (ScoreSDE, 3 seeds, 3000 training steps) it
    sampled graphs 3x faster than on the 300-step grid, with the average of the degree,
    clustering and orbit MMD² at 0.102 against 0.094 (paired differences +0.009, +0.021,
    -0.007: within noise; with 10000 training steps, 2 seeds, 0.051 for both); the 300-step
    grid stays that of ``score_samples``, whose bound it
    tightens by 19 nats per graph (benchmarks/README.md). An explicit ``n_steps`` is the
    sampler's too."""
    if n_steps == "auto" and sampler == "pc" and score_matching:
        return min(resolved_n_steps, _PC_AUTO_STEPS)
    return resolved_n_steps


def auto_sampler(codec, score_matching: bool) -> str:
    """The sampler of ``sampler="auto"``.

    * Tables without discrete columns: ``"dpm-sde"``, the second-order exponential
      integrator of the reverse SDE (:func:`skbridge.sde.dpm_solver`). In
      ``benchmarks/steps.py`` (3 seeds; two moons, the 16-D mixture, breast_cancer) it was
      at least as good as the Euler–Maruyama chain at 100 network evaluations (energy
      distance 0.0066 / 0.0148 / 0.197 against 0.0071 / 0.0179 / 0.202) and far better at
      10-20 (two moons at 10: 0.0128 against 0.0244; the mixture: 0.0163 against 0.092),
      with a score-matching decoder and with a kept encoder alike. Tables with discrete
      columns and sequences keep ``"sde"`` until measured.
    * Graphs without edge attributes with a decoder trained by denoising score matching:
      the predictor-corrector (``"pc"``; it halved the orbit MMD² on Community-small). With
      edge attributes (QM9) the corrector left validity unchanged and lowered the share
      valid and connected (0.540 to 0.515 and 0.555 to 0.497 in two fits); with a kept SB-VAE
      encoder its score is the difference of two networks and made graph samples worse:
      ``"sde"`` there (benchmarks/README.md).
    """
    if codec.modality == "graph":
        return "pc" if _edge_attr(codec) is None and score_matching else "sde"
    if codec.modality == "tabular" and not codec.has_discrete_:
        return "dpm-sde"
    return "sde"


def _edge_attr(codec):
    """The edge attribute a graph codec models (an unfitted codec's ``"auto"``: none yet)."""
    if hasattr(codec, "edge_attr_"):
        return codec.edge_attr_
    return (
        None if isinstance(codec.edge_attr, str) and codec.edge_attr == "auto" else codec.edge_attr
    )


def onehot_blocks(est, codec):
    """The decoder's categorical head for ``categorical="posterior"``: :class:`OneHotBlocks`
    for a codec's relaxed one-hot blocks (categorical columns, tokens, a graph's node
    positions), with :class:`LevelEntries` beside them for a graph's adjacency when its
    edges carry an attribute (several levels); None without either."""
    blocks = getattr(codec, "onehot_blocks_", ())
    entries = getattr(codec, "level_entries_", None)
    if est.categorical != "posterior" or not (blocks or entries):
        return None
    heads = []
    if blocks:
        freq = getattr(codec, "onehot_frequencies_", None)
        heads.append(OneHotBlocks(blocks, codec.n_latent_, freq))
    if entries is not None and entries[1] > entries[0] and entries[2] > 1:
        # adjacency levels only with an edge attribute: on QM9 (bond types) the head raised
        # validity from 0.707 to 0.753, on Community-small (plain edges) it raised the orbit
        # MMD² from 0.013 to 0.063-0.166 (one seed each, 10000 steps; benchmarks/README.md)
        heads.append(LevelEntries(*entries))
    return heads[0] if len(heads) == 1 else DiscreteHeads(heads)


class DiffusionEstimator(GeneratorEstimator):
    """Base class of the diffusion generators (not public: use SBVAE or ScoreSDE)."""

    _torch_attributes = ("decoder_",)

    def __setstate__(self, state):
        # a model fitted before `categorical` existed predicts its one-hot blocks freely
        if "decoder_" in state and "categorical" not in state:
            state = {**state, "categorical": "free"}
        state.setdefault("sampling_steps", "auto")  # pickled before the parameter existed
        super().__setstate__(state)

    _parameter_constraints: dict = {
        **GeneratorEstimator._parameter_constraints,
        "sde": [StrOptions(set(REFERENCE_SDES))],
        "beta_min": [Interval(Real, 0, None, closed="neither")],
        "beta_max": [Interval(Real, 0, None, closed="neither")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "T": [Interval(Real, 0, None, closed="neither")],
        "n_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "time_grid": [StrOptions(set(TIME_GRIDS))],
        "hidden_layer_sizes": [StrOptions({"auto"}), tuple],
        "categorical": [StrOptions({"posterior", "free"})],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "ema_decay": [Interval(Real, 0, 1, closed="left")],
        "sampler": [StrOptions({"auto", *SAMPLERS})],
        "sampling_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "corrector_snr": [Interval(Real, 0, None, closed="left")],
        "n_elbo_samples": [Interval(Integral, 1, None, closed="left")],
        "elbo_form": [StrOptions(set(ELBO_FORMS))],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "monitor_train": ["boolean"],
    }

    # ------------------------------------------------------------- subclass hooks
    def _holds_out(self) -> bool:
        """Whether the fit holds validation rows out (else it monitors training rows)."""
        return bool(self.early_stopping or self.monitor_train)

    def _warm_encoder(self):
        """The learned encoder a warm start continues from (None: the reference)."""
        return None

    def _train(self, run: DecoderTraining, encoder, warm: bool) -> dict:
        """Train; returns what :meth:`_adopt_encoder` needs. ScoreSDE: ``max_iter`` steps
        of denoising score matching against the reference encoder."""
        run.run_decoder(run.settings.max_iter, "decoder" if warm else "score", self.early_stopping)
        return {}

    def _adopt_encoder(self, encoder, info: dict):
        """Set the encoder's fitted attributes (ScoreSDE has none)."""

    def _h(self):
        """The fitted encoder drift ``h`` (None: the reference)."""
        return None

    # ----------------------------------------------------------------- fitting
    def _decoder_settings(self, max_iter: int) -> DecoderSettings:
        return DecoderSettings(
            max_iter=max_iter,
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            ema_decay=float(self.ema_decay),
            tol=float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            verbose=int(self.verbose),
            name=type(self).__name__,
            monitor_train=bool(self.monitor_train),
        )

    def _progress_total(self, warm, max_iter: int) -> int:
        """Iterations the progress bar expects: the most this fit can run (``max_iter``
        resolved)."""
        return max_iter

    def _fit(self, X):
        fd = prepare_fit(self, X, hold_out=self._holds_out())
        codec, dev = fd.codec, fd.device
        sde = make_reference_sde(
            self.sde, beta_min=self.beta_min, beta_max=self.beta_max, sigma=self.sigma, T=self.T
        )
        grid = self._grid(codec, dev)
        if fd.warm:
            encoder = self._warm_encoder()
            decoder = copy.deepcopy(self.decoder_).to(dev).requires_grad_(True)
            decoder.sde = sde
        else:
            hidden = self.hidden_layer_sizes
            heads = onehot_blocks(self, codec)

            def build():
                # the encoder's initialisation is drawn first by every diffusion model, so
                # that ScoreSDE and SBVAE with one random_state start from the same decoder
                enc = drift_network(codec, hidden, T=self.T, zero_init=True)
                return enc, NoiseDecoder(drift_network(codec, hidden, T=self.T), sde, heads)

            encoder, decoder = build_seeded(fd.seeds[2], build)
            decoder = decoder.to(dev)
        encoder = None if encoder is None else encoder.to(dev)
        settings = self._decoder_settings(self._max_iter(codec, fd.x_train.shape[0]))
        settings.name = f"{settings.name} on {dev}"
        settings.progress_total = self._progress_total(fd.warm, settings.max_iter)
        run = DecoderTraining(settings, sde, grid, decoder, fd)
        try:
            info = self._train(run, encoder, fd.warm)
        finally:
            run.trainer.close()

        # adopt the results only now: any failure above leaves the estimator untouched
        self.device_ = dev
        self.codec_ = codec
        self.sde_ = sde
        self.decoder_ = run.ema.requires_grad_(False)
        adopt_history(self, run.trainer.history, run.it, fd.warm)
        self._adopt_encoder(encoder, info)
        self._score_seed = int(fd.seeds[3])
        return self

    # --------------------------------------------------------------- inference
    def resolved_n_steps(self, codec=None) -> int:
        """The grid's ``K`` that ``sample`` and ``score_samples`` use now: ``n_steps``, with
        ``"auto"`` resolved for the fitted data (``skbridge.models._diffusion.auto_n_steps``).
        Read at ``sample`` and ``score_samples`` time, so ``set_params(n_steps=...)`` after a
        fit changes the sampling grid (a score-matching decoder is trained in continuous
        time)."""
        if self.n_steps != "auto":
            return int(self.n_steps)
        if codec is None:
            check_is_fitted(self)
            codec = self.codec_
        return auto_n_steps(codec)

    def resolved_sampling_steps(self) -> int:
        """The steps ``sample`` runs now: ``sampling_steps``, with ``"auto"`` resolved for
        the fitted data and sampler (``skbridge.models._diffusion.auto_sampling_steps``):
        the grid's ``n_steps``, except at most 100 for the predictor-corrector of a
        score-matching decoder when ``n_steps`` is ``"auto"``."""
        if self.sampling_steps != "auto":
            return int(self.sampling_steps)
        return auto_sampling_steps(
            self.n_steps,
            self.resolved_n_steps(),
            self.resolved_sampler(),
            score_matching=self._h() is None,
        )

    def _grid(self, codec=None, device=None, n_steps=None):
        """The ``K + 1`` grid times (the fitted codec and device unless given: fit passes
        its own before they are adopted; ``n_steps``: ``K`` other than the grid's)."""
        device = self.device_ if device is None else device
        return time_grid(
            self.T,
            self.resolved_n_steps(codec) if n_steps is None else n_steps,
            spacing=self.time_grid,
            device=device,
            dtype=torch.float32,
        )

    def resolved_sampler(self) -> str:
        """The sampler ``sample`` runs now: ``sampler``, with ``"auto"`` resolved for the
        fitted data and decoder (``skbridge.models._diffusion.auto_sampler``)."""
        check_is_fitted(self)
        if self.sampler != "auto":
            return self.sampler
        return auto_sampler(self.codec_, score_matching=self._h() is None)

    def _generate(self, n, gen):
        """Reverse Euler–Maruyama from :math:`X_T \\sim \\pi` over the sampler's steps
        (``sampler="sde"``), the same with a Langevin corrector step before each step
        (``sampler="pc"``), the probability-flow ODE (``sampler="ode"``), or the
        exponential integrators of the ODE and the reverse SDE on the log-SNR grid
        (``"dpm"``, ``"dpm-sde"``: one network evaluation per step); see
        :meth:`resolved_sampler` and :meth:`resolved_sampling_steps` for ``"auto"``."""
        sampler, steps = self.resolved_sampler(), self.resolved_sampling_steps()
        if sampler.startswith("dpm"):
            grid = sampling_grid(self.sde_, steps, device=self.device_, dtype=torch.float32)
        else:
            grid = self._grid(n_steps=steps)
        # the networks see the chain's state bounded: an undertrained model's chain can run
        # away (a drift feeding back on itself) and would turn NaN; a trained one never
        # comes near the bound
        h, k = self._sampling_net(self._h()), self._sampling_net(self.decoder_)
        out = []
        for start in range(0, n, _SAMPLE_CHUNK):
            m = min(_SAMPLE_CHUNK, n - start)
            z = self.sde_.prior_sample(
                (m, self.codec_.n_latent_), generator=gen, device=self.device_
            )
            if sampler in ("dpm", "dpm-sde"):
                x = dpm_solver(
                    self.sde_,
                    h,
                    k,
                    z,
                    grid,
                    stochastic=sampler == "dpm-sde",
                    generator=gen,
                )
            elif sampler == "ode":
                x = probability_flow(self.sde_, h, k, z, grid)
            elif sampler == "pc":
                x = predictor_corrector(
                    self.sde_,
                    h,
                    k,
                    z,
                    grid,
                    snr=float(self.corrector_snr),
                    generator=gen,
                )
            else:
                x = decoder_chain(self.sde_, k, z, grid, generator=gen)
            out.append(x)
        return torch.cat(out)

    def _log_density(self, P):
        """Chain ELBO of the ``n_steps``-step decoder chain (docs/math.md), averaged over
        ``n_elbo_samples`` encoder paths (and dequantisation draws) per row.

        All the Monte Carlo noise of a row (encoder noise, dequantisation uniforms, and the
        Hutchinson probes of ``elbo_form="stein"`` above 16 dimensions) is drawn from a hash
        of the row, so a row's score does not depend on the rows scored with it."""
        grid = self._grid()
        K, S = grid.numel() - 1, int(self.n_elbo_samples)
        d = self.codec_.n_latent_
        discrete = self.codec_.has_discrete_
        probes = self.elbo_form == "stein" and not uses_exact_divergence("auto", d)
        draws = [("normal", (S, K, d))]
        draws += [("uniform", (S, d))] if discrete else []
        draws += [("sign", (S, K, d))] if probes else []
        out = []
        chunk = max(1, _SCORE_CHUNK // S)
        with torch.no_grad():
            for start in range(0, P.shape[0], chunk):
                p = P[start : start + chunk]
                n, dev = p.shape[0], p.device
                got = row_draws(p.cpu().numpy(), self._score_seed, *draws)
                # (n, S, K, d) -> (K, S * n, d): path-major like p.repeat(S, 1)
                noise = _to_tensor(got.pop(0).transpose(2, 1, 0, 3).reshape(K, S * n, d), dev)
                unif = None
                if discrete:
                    unif = _to_tensor(got.pop(0).transpose(1, 0, 2).reshape(S * n, d), dev)
                signs = None
                if probes:  # one probe per step: (K, 1, S * n, d)
                    signs = got.pop(0).transpose(2, 1, 0, 3).reshape(K, 1, S * n, d)
                    signs = _to_tensor(signs, dev).to(torch.float32)
                v, log_q = dequantize(self.codec_, p.repeat(S, 1), u=unif)
                elbo = chain_elbo(
                    self.sde_,
                    self._h(),
                    self.decoder_,
                    v,
                    grid,
                    form=self.elbo_form,
                    noise=noise,
                    probes=signs,
                )
                out.append(as_numpy((elbo - log_q).reshape(S, -1).mean(0)))
        return np.concatenate(out)

    def diagnostics(self, X):
        """Plug-in diagnostics on ``X``: ``{"neg_elbo", "prior_term", "drift_term"}`` (nats).

        ``prior_term`` estimates :math:`H(\\mu) + \\mathrm{PL}` and ``drift_term`` the rest of
        :math:`-\\mathrm{ELBO}` (docs/math.md). They are first-order accurate in the decoder's
        error and are **not** bounds: ``drift_term`` can come out negative. With discrete
        columns, ``prior_term`` is evaluated at one dequantisation draw per row.
        """
        check_is_fitted(self)
        P, offset = self._encode(X)
        P = torch.as_tensor(P, dtype=torch.float32, device=self.device_)
        gen = torch_generator(self._score_seed, self.device_)
        v, log_q = dequantize(self.codec_, P, generator=gen)
        neg_elbo = -float(np.mean(self._log_density(P) + offset))
        prior = float(
            plugin_diagnostics(self.sde_, self._h(), self.decoder_, v, self._grid(), generator=gen)
        )
        prior += float(log_q.mean()) - float(np.mean(offset))
        return {"neg_elbo": neg_elbo, "prior_term": prior, "drift_term": neg_elbo - prior}
