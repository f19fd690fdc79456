"""`baseModel` (inference, and a base-model deployment) must not load an arbitrary folder of the
backend's machine: only registered models, repos already in the backend's Hugging Face cache, or
folders under ARKOR_MODEL_ROOTS; one answer whether or not the named path exists."""

from __future__ import annotations

from pathlib import Path

from security_data_helpers import Caller, isolated_home, make_backend  # noqa: F401 (fixtures)


def _chat(caller: Caller, model: str):
    return caller.http.post(
        "/v1/inference/chat",
        params=caller.scope,
        json={"messages": [{"role": "user", "content": "hi"}], "baseModel": model, "stream": False, "maxTokens": 2},
    )


def test_base_model_folders_outside_the_roots_are_refused_alike(make_backend, tmp_path: Path) -> None:
    model = tmp_path / "some-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    caller = Caller(make_backend().url)
    answers = set()
    for name in [
        str(model),
        str(tmp_path / "missing-model"),
        "/etc",
        "../../etc",
        "~/.cache/huggingface",
        str(tmp_path / "data"),
    ]:
        response = _chat(caller, name)
        assert response.status_code == 400, (name, response.text)
        body = response.json()
        assert "ARKOR_MODEL_ROOTS" in body["error"] and body.get("param") == "baseModel", body
        answers.add(body["error"].replace(repr(name), "<model>"))
    assert len(answers) == 1, answers
    deployment = caller.http.post(
        "/v1/endpoints",
        params=caller.scope,
        json={
            "slug": "dep-one-abc",
            "target": {"kind": "base_model", "baseModel": str(model)},
            "authMode": "fixed_api_key",
        },
    )
    assert deployment.status_code == 400 and "ARKOR_MODEL_ROOTS" in deployment.json()["error"], deployment.text


def test_a_folder_under_the_model_roots_and_registered_models_are_accepted(make_backend, tmp_path: Path) -> None:
    roots = tmp_path / "models"
    (roots / "m").mkdir(parents=True)
    (roots / "m" / "config.json").write_text("{}")
    caller = Caller(make_backend(model_roots=str(roots)).url)
    under_root = _chat(caller, str(roots / "m"))
    assert "ARKOR_MODEL_ROOTS" not in under_root.text  # past the check (the engine then judges the folder)
    registered = _chat(caller, "arkor/tiny-test")
    assert registered.status_code == 200, registered.text


def test_a_job_model_that_is_a_local_folder_must_be_under_the_model_roots(make_backend, tmp_path: Path) -> None:
    roots = tmp_path / "models"
    (roots / "m").mkdir(parents=True)
    caller = Caller(make_backend(model_roots=str(roots)).url)
    source = {"type": "huggingface", "name": "x"}
    for name in ["/etc", str(tmp_path / "data"), "~/.ssh", "./m", str(tmp_path / "nope")]:
        response = caller.create_job(source, model=name)
        assert response.status_code == 400 and "ARKOR_MODEL_ROOTS" in response.json()["error"], (name, response.text)
    for name in [str(roots / "m"), "fake/fast", "arkor/tiny-test"]:
        assert caller.create_job(source, model=name).status_code == 201, name
