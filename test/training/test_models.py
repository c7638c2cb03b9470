"""`npm run model`: add (hub cache offline, a local stand-in hub, a folder), the refusals, list, remove, settings.

No network here: the real download code runs against the hub's cache layout with HF_HUB_OFFLINE=1 and against
a hub served from this process on 127.0.0.1 (HF_ENDPOINT), with tiny random Qwen2 and Llama checkpoints saved
by transformers and the fixture model's tokenizer. The CLI runs as a child process (huggingface_hub reads its
environment once, at import), as `npm run model` runs it.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from conftest import FIXTURE_DIR, REPO_ROOT
from training import models

SHAPE = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
             vocab_size=1024, max_position_embeddings=512, initializer_range=0.3)  # wide init: it does not stop at once
COMMIT = "0123456789abcdef0123456789abcdef01234567"
README = "---\nlicense: apache-2.0\n---\n# tiny\n"


def save_checkpoint(folder: Path, kind: str = "qwen2", seed: int = 1) -> Path:
    torch.manual_seed(seed)
    if kind == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**SHAPE, tie_word_embeddings=True))
    elif kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(**SHAPE, tie_word_embeddings=False))
    else:
        model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=1024, n_positions=512))
    model.save_pretrained(folder)
    shutil.copy(FIXTURE_DIR / "tokenizer.json", folder / "tokenizer.json")
    (folder / "README.md").write_text(README)
    return folder


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checkpoints")
    return {kind: save_checkpoint(root / kind, kind) for kind in ("qwen2", "llama")}


def place_in_hub_cache(hf_home: Path, repo: str, folder: Path, commit: str = COMMIT) -> Path:
    """The hub cache's layout (hub/models--ORG--NAME: blobs by hash, snapshots/COMMIT/FILE links, refs/main)."""
    storage = hf_home / "hub" / ("models--" + repo.replace("/", "--"))
    snapshot = storage / "snapshots" / commit
    (storage / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        data = path.read_bytes()
        blob = storage / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    (storage / "refs").mkdir(exist_ok=True)
    (storage / "refs" / "main").write_text(commit)
    return snapshot


def run_cli(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MSN_COMPLETE_", "INIT_CWD"))}
    return subprocess.run([sys.executable, "-m", "training.models", *args], cwd=REPO_ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=timeout)


def refusal(result: subprocess.CompletedProcess) -> str:
    """The one sentence a refusal prints (its last stderr line)."""
    assert result.returncode == 2, result.stdout + result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("msn-complete model: ") and line.endswith(".")
    return line


def nothing_half_written(models_dir: Path) -> None:
    assert not list(models_dir.glob(f".*{models.PARTIAL_MARK}*")) if models_dir.exists() else True


def decodes_losslessly(model_dir: Path, tmp_path: Path) -> None:
    """The decoder loads the folder and tr-jacobi's completions equal ar's (npm run bench on the sample workspace)."""
    bench = REPO_ROOT / "dist" / "cli" / "bench.js"
    if shutil.which("node") is None or not bench.is_file():
        pytest.skip("node or dist/cli/bench.js (npm run build) missing")
    out = tmp_path / "bench.json"
    result = subprocess.run(["node", str(bench), "--model", str(model_dir), "--workspace", "test/fixtures/sample-workspace",
                             "--samples", "3", "--seed", "1", "--max-tokens", "16", "--strategies", "ar,tr-jacobi",
                             "--threads", "1", "--json", str(out)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(out.read_text())
    assert summary["ar"]["identical_to_ar"] == summary["tr-jacobi"]["identical_to_ar"] == 3
    assert re.search(r"^ar\s+[0-9.]+\s+[0-9.]+\s+1\.00\s+(\d+)", result.stdout, re.MULTILINE).group(1) != "3"  # it decoded tokens


# ---------------------------------------------------------------- add from the hub cache, offline

@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_add_finds_a_cached_snapshot_offline_exports_checks_and_registers_it(kind, checkpoints, tmp_path):
    hf_home, models_dir = tmp_path / "hf", tmp_path / "models"
    place_in_hub_cache(hf_home, f"tiny-org/tiny-{kind}", checkpoints[kind])
    env = {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "MSN_COMPLETE_MODELS": str(models_dir)}
    result = run_cli(["add", f"tiny-org/tiny-{kind}", "--quantize", "none"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    folder = models_dir / f"tiny-{kind}"
    assert f'"msnComplete.modelPath": "{folder}"' in result.stdout
    assert {"model.onnx", "tokenizer.json", "msn.json", "MODEL_CARD.md", "source.json"} <= {p.name for p in folder.iterdir()}
    info = json.loads((folder / "source.json").read_text())
    assert (info["source"], info["commit"], info["license"], info["quantization"]) == (f"tiny-org/tiny-{kind}", COMMIT, "apache-2.0", "none")
    assert info["parity_max_abs_diff"]["pytorch"] < 1e-4 and info["parity_max_abs_diff"]["self"] < 1e-4
    assert info["ms_per_step"] > 0
    card = (folder / "MODEL_CARD.md").read_text()
    assert COMMIT in card and "apache-2.0" in card and "ms per plain greedy step" in card
    msn = json.loads((folder / "msn.json").read_text())
    assert msn["training"]["source"] == f"tiny-org/tiny-{kind}" and msn["max_positions"] == 512
    nothing_half_written(models_dir)
    listing = run_cli(["list"], env)
    assert re.search(rf"tiny-{kind}\s+[0-9.]+ MiB\s+msn-onnx/1 float32\s+tiny-org/tiny-{kind}@0123456", listing.stdout), listing.stdout
    decodes_losslessly(folder, tmp_path)


def test_a_partly_cached_snapshot_offline_is_refused_as_partly_downloaded(checkpoints, tmp_path):
    from huggingface_hub._tree_cache import TreeCacheEntry, write_tree_cache

    hf_home = tmp_path / "hf"
    snapshot = place_in_hub_cache(hf_home, "tiny-org/tiny", checkpoints["qwen2"])
    (snapshot / "model.safetensors").unlink()  # as after an interrupted download
    entries = {path.name: TreeCacheEntry(size=path.stat().st_size, blob_id="0" * 40, lfs_sha256=None, lfs_size=None,
                                         xet_hash=None) for path in checkpoints["qwen2"].iterdir()}
    write_tree_cache(str(snapshot.parents[1]), COMMIT, entries)
    result = run_cli(["add", "tiny-org/tiny"], {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "MSN_COMPLETE_MODELS": str(tmp_path / "m")})
    assert "only partly downloaded" in refusal(result)
    assert not (tmp_path / "m" / "tiny-int8").exists()


def test_no_network_and_nothing_cached_is_one_sentence(tmp_path):
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9", "MSN_COMPLETE_MODELS": str(tmp_path / "m")}
    assert "the hub cannot be reached" in refusal(run_cli(["add", "tiny-org/tiny"], env))
    assert "the hub cannot be reached" in refusal(run_cli(["add", "tiny-org/tiny"], {**env, "HF_HUB_OFFLINE": "1"}))
    assert not (tmp_path / "m").exists() or not list((tmp_path / "m").iterdir())


# ---------------------------------------------------------------- a hub on 127.0.0.1

class StandInHub:
    """Answers the hub's HTTP API for one repository (info, tree, resolve with ranges) from a folder's files;
    other repositories are 404 RepoNotFound. `sizes` overrides what the listing says a file's size is;
    `stall` makes the first download of that file send half of it and then hang until `release`."""

    def __init__(self, repo: str, folder: Path, license_name: str | None = "apache-2.0"):
        self.repo, self.files = repo, {path.name: path.read_bytes() for path in folder.iterdir()}
        self.license, self.sizes, self.stall, self.requests = license_name, {}, None, []
        self.release = threading.Event()
        self.stalled = threading.Event()
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                hub.handle(self)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.release.set()
        self.server.shutdown()

    def reply(self, handler, code: int, body: bytes = b"", headers: dict | None = None, length: int | None = None):
        handler.send_response(code)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def handle(self, handler):
        path = handler.path.split("?")[0]
        self.requests.append((handler.command, path, handler.headers.get("Range")))
        repo = re.escape(self.repo)
        if re.fullmatch(rf"/api/models/{repo}(/revision/[^/]+)?", path):
            info = {"id": self.repo, "sha": COMMIT, "tags": [f"license:{self.license}"] if self.license else [],
                    "cardData": {"license": self.license} if self.license else None,
                    "siblings": [{"rfilename": name, "size": self.sizes.get(name, len(data))} for name, data in self.files.items()]}
            return self.reply(handler, 200, json.dumps(info).encode(), {"Content-Type": "application/json"})
        if re.fullmatch(rf"/api/models/{repo}/tree/[^/]+(/.*)?", path):
            tree = [{"type": "file", "path": name, "size": self.sizes.get(name, len(data)), "oid": hashlib.sha1(data).hexdigest()}
                    for name, data in self.files.items()]
            return self.reply(handler, 200, json.dumps(tree).encode(), {"Content-Type": "application/json"})
        match = re.fullmatch(rf"/{repo}/resolve/[^/]+/(.+)", path)
        if match and match.group(1) in self.files:
            name, data = match.group(1), self.files[match.group(1)]
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha1(data).hexdigest()}"', "Accept-Ranges": "bytes"}
            start = int(re.match(r"bytes=(\d+)-", handler.headers.get("Range") or "bytes=0-").group(1))
            if handler.command == "GET" and name == self.stall and not self.stalled.is_set():
                self.reply(handler, 200, b"", headers, length=len(data))  # headers for the whole file, then half of it
                handler.wfile.write(data[: len(data) // 2])
                handler.wfile.flush()
                self.stalled.set()
                self.release.wait(60)
                handler.close_connection = True
                return
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                return self.reply(handler, 206, data[start:], headers)
            return self.reply(handler, 200, data, headers)
        self.reply(handler, 404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"})


@pytest.fixture
def hub(checkpoints):
    stand_in = StandInHub("tiny-org/tiny", checkpoints["qwen2"])
    yield stand_in
    stand_in.close()


def hub_env(hub: StandInHub, tmp_path: Path) -> dict:
    return {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": hub.endpoint, "MSN_COMPLETE_MODELS": str(tmp_path / "models"),
            "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def test_add_downloads_only_what_the_exporter_reads_and_records_the_licence(hub, tmp_path):
    hub.files["pytorch_model.bin"] = b"not wanted"
    hub.files["tokenizer_config.json"] = b"{}"
    result = run_cli(["add", "tiny-org/tiny", "--quantize", "int8"], hub_env(hub, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    fetched = {path.rsplit("/", 1)[-1] for command, path, _ in hub.requests if command == "GET" and "/resolve/" in path}
    assert fetched == {"config.json", "generation_config.json", "tokenizer.json", "README.md", "model.safetensors"}
    info = json.loads((tmp_path / "models" / "tiny-int8" / "source.json").read_text())
    assert (info["commit"], info["license"], info["weights"]) == (COMMIT, "apache-2.0", "int8-matmulnbits-b32-acc4")


def test_unknown_repository_is_one_sentence(hub, tmp_path):
    assert "is not a model repository on the hub" in refusal(run_cli(["add", "tiny-org/no-such-model"], hub_env(hub, tmp_path)))


def test_a_repository_without_safetensors_is_refused_before_any_download(hub, tmp_path):
    hub.files["pytorch_model.bin"] = hub.files.pop("model.safetensors")
    assert "has no safetensors weights (it has pytorch_model.bin)" in refusal(run_cli(["add", "tiny-org/tiny"], hub_env(hub, tmp_path)))
    assert not [path for command, path, _ in hub.requests if "/resolve/" in path]


def test_not_enough_disk_is_refused_from_the_listed_sizes_before_the_weights_download(hub, tmp_path):
    hub.sizes["model.safetensors"] = 10**18  # an exabyte, as the repository lists it
    sentence = refusal(run_cli(["add", "tiny-org/tiny"], hub_env(hub, tmp_path)))
    assert "not enough disk space" in sentence
    assert not [path for command, path, _ in hub.requests if command == "GET" and path.endswith("model.safetensors")]
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


def test_ctrl_c_during_the_download_leaves_nothing_installed_and_the_next_run_resumes_it(hub, tmp_path):
    # The hub writes a download in 10 MiB chunks: a LICENSE of 24 MB is interrupted with 10 MiB on disk.
    hub.files["LICENSE"] = b"Apache License, Version 2.0\n" + b"x" * 24_000_000
    hub.stall = "LICENSE"
    env = hub_env(hub, tmp_path)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MSN_COMPLETE_"))}
    child = subprocess.Popen([sys.executable, "-m", "training.models", "add", "tiny-org/tiny"], cwd=REPO_ROOT,
                             env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert hub.stalled.wait(120), "the download never started"
    blobs = tmp_path / "hf" / "hub" / "models--tiny-org--tiny" / "blobs"
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.stat().st_size > 0 for p in blobs.glob("*.incomplete")):
        time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    hub.release.set()
    assert child.returncode == 130, stderr
    assert "interrupted; nothing was installed" in stderr
    assert not (tmp_path / "models" / "tiny-int8").exists()
    nothing_half_written(tmp_path / "models")
    result = run_cli(["add", "tiny-org/tiny"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    ranges = [byte_range for command, path, byte_range in hub.requests if command == "GET" and path.endswith("LICENSE")]
    assert ranges[-1] is not None and int(re.match(r"bytes=(\d+)-", ranges[-1]).group(1)) > 0, ranges  # resumed, not restarted


# ---------------------------------------------------------------- refusals of a local folder

def test_an_architecture_the_exporter_cannot_export_exactly_is_one_sentence(tmp_path):
    folder = save_checkpoint(tmp_path / "gpt2", "gpt2")
    sentence = refusal(run_cli(["add", str(folder), "--out", str(tmp_path / "m")], {}))
    assert "cannot be exported exactly: architecture GPT2LMHeadModel is not supported" in sentence


def test_an_instruct_model_without_fim_tokens_is_one_sentence(checkpoints, tmp_path):
    folder = tmp_path / "tiny-coder-instruct"
    shutil.copytree(checkpoints["qwen2"], folder)
    text = (folder / "tokenizer.json").read_text(encoding="utf-8")
    (folder / "tokenizer.json").write_text(text.replace("<|fim_", "<|chat_"), encoding="utf-8")
    sentence = refusal(run_cli(["add", str(folder), "--out", str(tmp_path / "m")], {}))
    assert "is an instruct (chat) model: its tokenizer has no FIM tokens" in sentence


def test_in_process_add_refuses_a_full_disk_and_ctrl_c_during_the_export_removes_the_partial_folder(checkpoints, tmp_path, monkeypatch, capsys):
    import collections

    models_dir = tmp_path / "m"
    usage = collections.namedtuple("usage", "total used free")
    with monkeypatch.context() as patch:
        patch.setattr(models.shutil, "disk_usage", lambda path: usage(10**6, 10**6 - 1000, 1000))
        assert models.main(["add", str(checkpoints["qwen2"]), "--out", str(models_dir)]) == 2
    assert "not enough disk space" in capsys.readouterr().err
    assert not models_dir.exists()

    import training.export

    def interrupted(model, tokenizer, out_dir, *args, **kwargs):
        out_dir.mkdir(parents=True)
        (out_dir / "model.onnx").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(training.export, "export_model_dir", interrupted)
    with pytest.raises(KeyboardInterrupt):
        models.add(models.parse_args(["add", str(checkpoints["qwen2"]), "--out", str(models_dir)]), progress=lambda *a: None)
    assert list(models_dir.iterdir()) == []


# ---------------------------------------------------------------- list, remove, names, settings

def test_list_and_remove(checkpoints, tmp_path, capsys):
    models_dir = tmp_path / "m"
    assert models.main(["add", str(checkpoints["llama"]), "--out", str(models_dir), "--name", "mine", "--quantize", "int4"]) == 0
    capsys.readouterr()
    assert models.main(["list", "--out", str(models_dir)]) == 0
    assert re.search(rf"mine\s+[0-9.]+ MiB\s+msn-onnx/1 int4\s+{re.escape(str(checkpoints['llama']))}", capsys.readouterr().out)
    assert models.main(["remove", "nope", "--out", str(models_dir)]) == 2
    assert "there is no model nope" in capsys.readouterr().err
    assert models.main(["remove", "../m", "--out", str(models_dir)]) == 2
    assert models.main(["remove", "mine", "--out", str(models_dir)]) == 0
    assert not (models_dir / "mine").exists()


def test_names_folders_and_the_models_home():
    assert models.model_name("Qwen/Qwen2.5-Coder-1.5B", "int8") == "qwen2.5-coder-1.5b-int8"
    assert models.model_name("deepseek-ai/deepseek-coder-1.3b-base", "none") == "deepseek-coder-1.3b-base"
    assert models.models_home({"MSN_COMPLETE_MODELS": "/x/y"}, "linux") == Path("/x/y")
    assert models.models_home({"HOME": "/h"}, "linux") == Path("/h/.cache/msn-complete/models")
    assert models.models_home({"HOME": "/h", "XDG_CACHE_HOME": "/c"}, "linux") == Path("/c/msn-complete/models")
    assert models.models_home({"HOME": "/h"}, "darwin") == Path("/h/Library/Caches/msn-complete/models")
    assert models.models_home({"LOCALAPPDATA": "C:/L"}, "win32") == Path("C:/L/msn-complete/models")
    assert set(models.PRESETS) == {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "qwen2.5-coder-3b", "deepseek-coder-1.3b"}


def test_set_setting_keeps_comments_and_replaces_an_existing_value(tmp_path):
    key = "msnComplete.modelPath"
    assert json.loads(models.set_setting("", key, "/a"))[key] == "/a"
    assert json.loads(models.set_setting("{}", key, "/a")) == {key: "/a"}
    text = '{\n  // my settings\n  "editor.fontSize": 14\n}\n'
    updated = models.set_setting(text, key, "C:\\models\\x")
    assert "// my settings" in updated
    assert json.loads(re.sub(r"//[^\n]*", "", updated)) == {key: "C:\\models\\x", "editor.fontSize": 14}
    again = models.set_setting(updated, key, "/b")
    assert json.loads(re.sub(r"//[^\n]*", "", again)) == {key: "/b", "editor.fontSize": 14}
    settings = tmp_path / "settings.json"
    settings.write_text(text)
    models.write_setting(settings, "/c")
    assert '"msnComplete.modelPath": "/c"' in settings.read_text()


def test_npm_run_model_lists_through_the_package_script(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm missing")
    result = subprocess.run(["npm", "run", "-s", "model", "--", "list"], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, "MSN_COMPLETE_MODELS": str(tmp_path)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"models in {tmp_path}" in result.stdout
