"""Shared fixtures: small fast estimator configurations."""

import pytest
import torch

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

FAST = dict(max_iter=40, n_steps=10, hidden_layer_sizes=(16, 16), batch_size=64, n_elbo_samples=2)
FAST_SBVAE = dict(
    FAST, encoder_min_iter=2, encoder_max_iter=4, validation_interval=2, n_decoder_steps=2
)


@pytest.fixture
def fast_params():
    return dict(FAST)
