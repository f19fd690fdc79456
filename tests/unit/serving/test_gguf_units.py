"""GGUF types: which the exporter writes, what the user is told about the others, the CLI option."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from arkor.cli.export import export_command
from arkor.engine.export import check_gguf_supported, export_job_artifacts
from arkor.engine.gguf_export import GGUF_TYPES, check_gguf_type
from arkor.errors import ConfigError


def test_writable_types_and_case():
    assert check_gguf_type("Q8_0") == "q8_0" and check_gguf_type("f16") == "f16"
    assert {"f16", "f32", "bf16", "q8_0", "q4_0"} <= set(GGUF_TYPES)


def test_k_quants_point_to_llama_quantize():
    with pytest.raises(ConfigError) as raised:
        check_gguf_type("q4_k_m")
    assert str(raised.value) == (
        "GGUF type 'q4_k_m' is a llama.cpp k-quant that only llama.cpp's llama-quantize writes. Export with "
        "--gguf-type f16 and run `llama-quantize model.gguf model-q4_k_m.gguf Q4_K_M`, or pick one of "
        "f16, f32, bf16, q8_0, q5_1, q5_0, q4_1, q4_0."
    )
    with pytest.raises(ConfigError, match="'int3' is not supported; use one of f16, f32"):
        check_gguf_type("int3")


def test_the_library_rejects_a_bad_type_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="q6_k"):
        export_job_artifacts(
            tmp_path / "missing", tmp_path / "out", gguf=True, model_id="arkor/tiny-test", gguf_dtype="q6_k"
        )
    assert not (tmp_path / "out").exists()


def test_gemma3_text_is_accepted_and_its_per_layer_rope_checked():
    gemma = {
        "model_type": "gemma3_text",
        "rope_parameters": {"full_attention": {"rope_type": "default"}, "sliding_attention": {"rope_type": "default"}},
    }
    check_gguf_supported(gemma, "google/gemma-3-270m")
    gemma["rope_parameters"]["full_attention"]["rope_type"] = "linear"
    with pytest.raises(ConfigError, match="rope scaling 'linear'"):
        check_gguf_supported(gemma, "google/gemma-3-270m")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["job_x", "--gguf", "--gguf-type", "q4_k_m"], "only llama.cpp's llama-quantize writes"),
        (["job_x", "--gguf-type", "q8_0"], "--gguf-type q8_0 applies to the GGUF file; add --gguf."),
    ],
)
def test_cli_gguf_type_errors_name_the_fix(args, message, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / ".arkor"))
    result = CliRunner().invoke(export_command, args)
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output


def test_cli_help_lists_the_types():
    text = CliRunner().invoke(export_command, ["--help"]).output
    assert "--gguf-type" in text and "q8_0" in text and "q4_0" in text and "llama-quantize" in text
