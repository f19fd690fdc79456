"""Export: the library writes an adapter copy, a merged model plain transformers loads with the same
logits as base + adapter, and a GGUF the `gguf` reader opens with llama tensors; the API route serves
the same artifacts (and 404s other orgs' jobs)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import torch
from serving_helpers import TINY, Api, Served

from arkor.engine.export import export_job_artifacts
from arkor.engine.gguf_export import permute_qk

PROMPT_IDS = torch.tensor([[1, 57, 902, 33, 4410, 2, 77, 15]])


def base_plus_adapter_logits(adapter_dir: Path) -> torch.Tensor:
    from peft import PeftModel

    from arkor.engine.models import load_model

    model = PeftModel.from_pretrained(load_model(TINY), str(adapter_dir)).eval()
    with torch.no_grad():
        return model(PROMPT_IDS).logits


def test_library_export_merged_and_gguf(served: Served, tmp_path: Path) -> None:
    import gguf
    from transformers import AutoModelForCausalLM

    adapter = served.data_dir / "artifacts" / served.job_id / "final"
    result = export_job_artifacts(adapter, tmp_path / "out", merge=True, gguf=True, model_id=TINY, progress=False)

    assert json.loads((result.adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"] == TINY
    merged = AutoModelForCausalLM.from_pretrained(str(result.merged_dir)).eval()
    with torch.no_grad():
        merged_logits = merged(PROMPT_IDS).logits
    torch.testing.assert_close(merged_logits, base_plus_adapter_logits(adapter), atol=1e-4, rtol=1e-4)
    assert (result.merged_dir / "tokenizer.json").is_file()

    reader = gguf.GGUFReader(str(result.gguf_path))
    assert reader.fields["general.architecture"].contents() == "llama"
    assert reader.fields["llama.block_count"].contents() == merged.config.num_hidden_layers
    assert len(reader.fields["tokenizer.ggml.tokens"].contents()) == merged.config.vocab_size
    tensors = {t.name: t for t in reader.tensors}
    layers = merged.config.num_hidden_layers
    assert len(tensors) == 2 + 9 * layers  # embeddings, final norm, 9 per block; the tied LM head is omitted
    state = merged.state_dict()
    v = np.asarray(tensors["blk.0.attn_v.weight"].data, dtype=np.float32).reshape(
        state["model.layers.0.self_attn.v_proj.weight"].shape
    )
    np.testing.assert_allclose(v, state["model.layers.0.self_attn.v_proj.weight"].numpy(), atol=2e-3, rtol=2e-3)
    q_hf = state["model.layers.1.self_attn.q_proj.weight"].numpy()
    q = np.asarray(tensors["blk.1.attn_q.weight"].data, dtype=np.float32).reshape(q_hf.shape)
    np.testing.assert_allclose(q, permute_qk(q_hf, merged.config.num_attention_heads), atol=2e-3, rtol=2e-3)
    norm = np.asarray(tensors["output_norm.weight"].data)
    assert norm.dtype == np.float32


def test_export_route(served: Served, tmp_path: Path) -> None:
    import gguf
    from transformers import AutoModelForCausalLM

    api = served.api
    url = f"/v1/jobs/{served.job_id}/export"
    adapter_zip = api.http.get(url, params={**api.scope, "format": "adapter", "checkpoint": 2})
    assert adapter_zip.status_code == 200, adapter_zip.text
    assert {"adapter_config.json", "adapter_model.safetensors"} <= set(
        zipfile.ZipFile(io.BytesIO(adapter_zip.content)).namelist()
    )

    merged_zip = api.http.get(url, params={**api.scope, "format": "merged"}, timeout=300)
    assert merged_zip.status_code == 200, merged_zip.text
    assert "merged.zip" in merged_zip.headers["content-disposition"]
    zipfile.ZipFile(io.BytesIO(merged_zip.content)).extractall(tmp_path / "merged")
    assert AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged")).config.model_type == "llama"

    gguf_file = api.http.get(url, params={**api.scope, "format": "gguf"}, timeout=300)
    assert gguf_file.status_code == 200, gguf_file.text
    (tmp_path / "m.gguf").write_bytes(gguf_file.content)
    assert gguf.GGUFReader(str(tmp_path / "m.gguf")).fields["general.architecture"].contents() == "llama"
    again = api.http.get(url, params={**api.scope, "format": "gguf"})
    assert again.content == gguf_file.content  # built once, then served from the export cache

    missing = api.http.get(url, params={**api.scope, "format": "adapter", "checkpoint": 7})
    assert missing.status_code == 404 and "step 7" in missing.json()["error"]
    assert api.http.get(url, params={**api.scope, "format": "onnx"}).status_code == 400
    stranger = Api(api.url, project="proj")
    assert stranger.http.get(url, params={**stranger.scope, "format": "adapter"}).status_code == 404
