"""Pure parts of export: which architectures GGUF export accepts, and the Q/K row permutation."""

from __future__ import annotations

import numpy as np
import pytest

from arkor.engine.export import check_gguf_supported, export_job_artifacts
from arkor.engine.gguf_export import permute_qk
from arkor.errors import ConfigError


def test_gguf_rejects_other_architectures_with_a_way_out() -> None:
    with pytest.raises(ConfigError, match=r"Llama-family.*'gemma3'.*merged model") as info:
        check_gguf_supported({"model_type": "gemma3"}, "google/gemma-3-270m")
    assert info.value.field == "gguf"
    with pytest.raises(ConfigError, match="rope scaling"):
        check_gguf_supported({"model_type": "llama", "rope_parameters": {"rope_type": "yarn"}}, "x")
    check_gguf_supported({"model_type": "llama", "rope_parameters": {"rope_type": "default"}}, "x")


def test_permute_interleaves_each_heads_rotary_halves() -> None:
    # One head of dim 4: HF rows [r0, r1 | r2, r3] (first half, second half) -> GGUF [r0, r2, r1, r3].
    rows = np.arange(4, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)
    assert permute_qk(rows, n_head=1)[:, 0].tolist() == [0, 2, 1, 3]
    # Grouped-query keys use the kv head count.
    keys = np.arange(8, dtype=np.float32)[:, None]
    assert permute_qk(keys, n_head=4, n_head_kv=2)[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


def test_missing_adapter_folder_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="adapter_config.json is missing"):
        export_job_artifacts(tmp_path, tmp_path / "out", model_id="arkor/tiny-test")
