"""`npm run model -- ...`: install code models people run as msn-onnx/1 folders, list them, remove them.

  add REPO_ID_OR_DIR [--quantize int8|int4|none] [--revision R] [--name NAME] [--out MODELS_DIR]
                     [--max-positions N] [--set]          (or: add --preset NAME)
  list [--out MODELS_DIR]
  remove NAME [--out MODELS_DIR]
  presets
  msn-tune BASE --repo DIR [--tokens N] ...               (training/msn_tune.py)

`add` downloads only what the exporter reads (config.json, tokenizer.json, the top-level *.safetensors and
their index, README.md and LICENSE for the licence) through huggingface_hub into its cache (HF_HOME;
resumable: an interrupted download goes on where it stopped; HF_TOKEN is used for gated models), after
checking the architecture, the FIM tokens and the free disk space from the small files and the repository's
file sizes. It then exports (training/export.py), checks parity, measures a decoding step, writes
MODEL_CARD.md and source.json, all in a hidden temporary folder that is renamed to MODELS_DIR/NAME only at
the end, and prints the `msnComplete.modelPath` value. Every refusal is one sentence (Refusal).

MODELS_DIR: --out, else $MSN_COMPLETE_MODELS, else the user's cache folder (`models_home`; the editor's
extension/host/logic/installedModels.ts uses the same rule). A local folder instead of a repository id is
exported the same way (no download).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

SOURCE_FILE = "source.json"  # what `add` / `msn-tune` record about a model's origin (list reads it)
CARD_FILE = "MODEL_CARD.md"
PARTIAL_MARK = ".partial-"  # hidden temporary folders: .NAME.partial-PID
DEFAULT_MAX_POSITIONS = 4096  # the KV cache is preallocated for max_positions: 32k positions would waste memory
# Only these files are downloaded; weights only at the top level (some repositories keep other formats in folders).
WEIGHT_PATTERNS = ["*.safetensors", "model.safetensors.index.json"]
SMALL_PATTERNS = ["config.json", "tokenizer.json", "generation_config.json", "README.md", "LICENSE*"]
IGNORE_PATTERNS = ["*/*"]
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
SETTING = "msnComplete.modelPath"


class Refusal(Exception):
    """What `add` / `msn-tune` cannot do, as one sentence for the user; nothing is left half-written."""


# ---------------------------------------------------------------- presets

@dataclass(frozen=True)
class Preset:
    name: str
    repo: str
    parameters: str
    quantize: str
    measured: str  # what was measured here for this shape, with where; "" when nothing was


# Measured figures come from docs/decoding.md "A model of real size" (Qwen2.5-Coder-0.5B's exact shape, random
# weights, exported by training.real_size_probe, one decoding thread on a 2-core AMD EPYC VM, the other core busy).
QWEN05_MEASURED = ("int8: 530 MiB of files, 1.6 GiB RSS, ar step 120 / 141 ms at a 16 / 2,000-token past; "
                   "int4: 295 MiB, 1.1 GiB, 98 / 123 ms; float32: 1,885 MiB, 3.8 GiB, 385 / 444 ms "
                   "(docs/decoding.md, training.real_size_probe)")
PRESETS = {
    preset.name: preset for preset in (
        Preset("qwen2.5-coder-0.5b", "Qwen/Qwen2.5-Coder-0.5B", "0.5B", "int8", QWEN05_MEASURED),
        Preset("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B", "1.5B", "int8", ""),
        Preset("qwen2.5-coder-3b", "Qwen/Qwen2.5-Coder-3B", "3B", "int8", ""),
        Preset("deepseek-coder-1.3b", "deepseek-ai/deepseek-coder-1.3b-base", "1.3B", "int8", ""),
    )
}


# ---------------------------------------------------------------- where models live

def models_home(environ: dict | None = None, platform: str | None = None) -> Path:
    """The default models folder: $MSN_COMPLETE_MODELS, else msn-complete/models in the user's cache folder
    (%LOCALAPPDATA% on Windows, ~/Library/Caches on macOS, $XDG_CACHE_HOME or ~/.cache elsewhere)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("MSN_COMPLETE_MODELS"):
        return Path(environ["MSN_COMPLETE_MODELS"]).expanduser()
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        cache = Path(environ["LOCALAPPDATA"]) if environ.get("LOCALAPPDATA") else home / "AppData" / "Local"
    elif platform == "darwin":
        cache = home / "Library" / "Caches"
    else:
        cache = Path(environ["XDG_CACHE_HOME"]) if environ.get("XDG_CACHE_HOME") else home / ".cache"
    return cache / "msn-complete" / "models"


def user_path(text: str | Path) -> Path:
    """A path the user typed: relative to the folder `npm run` was started in (INIT_CWD), not the repository."""
    path = Path(text).expanduser()
    if not path.is_absolute() and os.environ.get("INIT_CWD"):
        path = Path(os.environ["INIT_CWD"]) / path
    return path.absolute()


def model_name(repo: str, quantize: str) -> str:
    """qwen2.5-coder-0.5b-int8 for Qwen/Qwen2.5-Coder-0.5B at int8 (float32: no suffix)."""
    base = re.sub(r"[^a-z0-9._-]+", "-", repo.rstrip("/").split("/")[-1].lower()).strip("-.") or "model"
    return base if quantize == "none" else f"{base}-{quantize}"


def check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise Refusal(f"the name {name!r} must be letters, digits, '.', '_' or '-' (it becomes a folder name)")
    return name


# ---------------------------------------------------------------- resolving and downloading

@dataclass
class Source:
    folder: Path  # local folder holding config.json, tokenizer.json and the safetensors
    repo: str  # repository id, or the absolute local folder
    revision: str | None = None  # what was asked for
    commit: str | None = None  # what it resolved to
    license: str | None = None
    local: bool = False
    weight_bytes: int = 0  # the safetensors' size in the repository (before they are downloaded)


def is_network_error(error: BaseException) -> bool:
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(error, (OfflineModeIsEnabled, ConnectionError, TimeoutError)):
        return True
    if isinstance(error, HfHubHTTPError):
        response = getattr(error, "response", None)
        return response is not None and response.status_code >= 500
    return type(error).__module__.split(".")[0] in ("httpx", "httpx2", "requests", "urllib3")


def resolve(spec: str, revision: str | None = None, progress=print) -> tuple[Source, int]:
    """(The local folder of `spec`, bytes still to download): a folder, or a repository id whose small files are
    fetched into the hub cache and checked for what the exporter needs before its weights are downloaded."""
    folder = user_path(spec)
    if folder.is_dir():
        check_folder(folder, spec)
        return Source(folder, str(folder), revision, None, local_license(folder), local=True), 0
    if not REPO_ID.fullmatch(spec):
        raise Refusal(f"{spec} is neither a folder nor a model repository id (like Qwen/Qwen2.5-Coder-1.5B)")
    return download(spec, revision, progress)


def download(repo: str, revision: str | None, progress=print) -> tuple[Source, int]:
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    api = HfApi()  # reads HF_TOKEN
    info = None
    try:
        info = api.model_info(repo, revision=revision, files_metadata=True)
    except GatedRepoError:
        raise Refusal(f"{repo} is gated: accept its terms on its page on the hub and set HF_TOKEN to a token of that account") from None
    except RepositoryNotFoundError:
        raise Refusal(f"{repo} is not a model repository on the hub (or it is private and HF_TOKEN does not give access to it)") from None
    except RevisionNotFoundError:
        raise Refusal(f"{repo} has no revision {revision}") from None
    except Exception as error:  # noqa: BLE001: network errors come from several libraries
        if not is_network_error(error):
            raise
        progress(f"the hub cannot be reached ({type(error).__name__}); looking for {repo} in the local cache")
    if info is not None:
        files = {sibling.rfilename: sibling.size for sibling in info.siblings or []}
        check_listing(repo, files)
        commit = info.sha
        license_name = repo_license(info)
        # The small files first: the architecture and the FIM tokens are checked before gigabytes of weights.
        folder = Path(fetch(snapshot_download, repo, commit, SMALL_PATTERNS))
        check_config_and_tokenizer(folder, repo)
        pending = fetch(snapshot_download, repo, commit, WEIGHT_PATTERNS, dry_run=True)
        download_bytes = sum(item.file_size or 0 for item in pending if item.will_download)
        weight_bytes = sum(size or 0 for name, size in files.items() if name.endswith(".safetensors") and "/" not in name)
        return Source(folder, repo, revision, commit, license_name, weight_bytes=weight_bytes), download_bytes
    folder = Path(fetch(snapshot_download, repo, revision, SMALL_PATTERNS + WEIGHT_PATTERNS))
    check_folder(folder, repo)
    return Source(folder, repo, revision, folder.name, local_license(folder)), 0


def fetch(snapshot_download, repo: str, revision: str | None, patterns: list[str], dry_run: bool = False):
    """snapshot_download of `patterns` (top-level files only), with its errors as one sentence."""
    from huggingface_hub.errors import IncompleteSnapshotError, LocalEntryNotFoundError

    try:
        return snapshot_download(repo, revision=revision, allow_patterns=patterns, ignore_patterns=IGNORE_PATTERNS,
                                 dry_run=dry_run)
    except IncompleteSnapshotError:
        raise Refusal(f"{repo} is only partly downloaded and the hub cannot be reached: connect to the network and run "
                      "the same command again to finish the download") from None
    except LocalEntryNotFoundError:
        raise Refusal(f"the hub cannot be reached (no network, or HF_HUB_OFFLINE is set) and {repo} is not in the local "
                      "cache: connect to the network and run the same command again") from None


def check_listing(repo: str, files: dict[str, int | None]) -> None:
    """Refuse from the repository's file list: no config, no tokenizer.json, no safetensors."""
    top = {name for name in files if "/" not in name}
    if "config.json" not in top:
        raise Refusal(f"{repo} has no config.json, so it is not a transformers model the exporter can read")
    if not any(name.endswith(".safetensors") for name in top):
        other = sorted(name for name in top if name.endswith((".bin", ".pt", ".gguf", ".pth", ".ckpt")))
        found = f" (it has {', '.join(other[:3])})" if other else ""
        raise Refusal(f"{repo} has no safetensors weights{found}; the exporter reads only *.safetensors")
    if "tokenizer.json" not in top:
        raise Refusal(f"{repo} has no tokenizer.json (the editor's tokenizer reads only that file)")


def check_folder(folder: Path, repo: str) -> None:
    files = {path.name: None for path in folder.iterdir() if path.is_file()}
    check_listing(repo, files)
    check_config_and_tokenizer(folder, repo)


def check_config_and_tokenizer(folder: Path, repo: str):
    """The architecture can be exported exactly and the tokenizer has FIM tokens; returns the config."""
    from transformers import AutoConfig

    from training.architectures import UnsupportedModelError, architecture_of, check_architecture
    from training.prompt_formats import PromptFormatError, detect_family

    try:
        config = AutoConfig.from_pretrained(folder)
    except (ValueError, KeyError, OSError) as error:
        raise Refusal(f"{repo}: transformers cannot read its config.json ({str(error).splitlines()[0]})") from None
    try:
        check_architecture(config, architecture_of(config))
    except UnsupportedModelError as error:
        raise Refusal(f"{repo} cannot be exported exactly: {error}") from None
    tokenizer_json = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    try:
        detect_family(tokenizer_json)
    except PromptFormatError:
        kind = "an instruct (chat) model" if looks_instruct(repo, folder) else "not a fill-in-the-middle model"
        raise Refusal(f"{repo} is {kind}: its tokenizer has no FIM tokens, and completion in the editor needs them "
                      "(use the base model of the same family)") from None
    return config


def looks_instruct(repo: str, folder: Path) -> bool:
    if re.search(r"instruct|chat|-it\b", repo, re.IGNORECASE):
        return True
    config = folder / "tokenizer_config.json"
    return config.is_file() and "chat_template" in config.read_text(encoding="utf-8", errors="replace")


def repo_license(info) -> str | None:
    card = getattr(info, "card_data", None) or getattr(info, "cardData", None)
    license_name = None
    if card is not None:
        license_name = card.get("license") if isinstance(card, dict) else getattr(card, "license", None)
        other = card.get("license_name") if isinstance(card, dict) else getattr(card, "license_name", None)
        if license_name == "other" and other:
            license_name = f"other ({other})"
    if not license_name:
        tags = [tag for tag in getattr(info, "tags", None) or [] if tag.startswith("license:")]
        license_name = tags[0].split(":", 1)[1] if tags else None
    return license_name


def local_license(folder: Path) -> str | None:
    """The licence a folder's README.md front matter names (the hub's metadata), else its LICENSE file's first line."""
    readme = folder / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")
        match = re.match(r"^---\s*\n(.*?)\n---", text, re.DOTALL)
        if match:
            import yaml

            try:
                meta = yaml.safe_load(match.group(1)) or {}
            except yaml.YAMLError:
                meta = {}
            if isinstance(meta, dict) and meta.get("license"):
                name = str(meta["license"])
                return f"other ({meta['license_name']})" if name == "other" and meta.get("license_name") else name
    for path in sorted(folder.glob("LICENSE*")):
        first = next((line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()), "")
        if first:
            return f"{first} ({path.name})"
    return None


# ---------------------------------------------------------------- disk, export, measurement

def safetensors_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.safetensors"))


def export_bytes(weight_bytes: int, config, quantize: str) -> int:
    """Disk the export needs at its peak: the float32 graph, plus the quantized copy written beside it."""
    dtype = str(getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or "float32").replace("torch.", "")
    parameters = weight_bytes / DTYPE_BYTES.get(dtype, 2)
    quantized = {"none": 0.0, "int8": 1.2, "int4": 0.7}[quantize] * parameters
    return int(4 * parameters + quantized + 64e6)


def existing_parent(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_disk(needs: list[tuple[Path, int]]) -> None:
    """Refuse when a file system has less free space than what will be written to it (summed per device)."""
    per_device: dict[int, list] = {}
    for path, size in needs:
        where = existing_parent(path)
        entry = per_device.setdefault(where.stat().st_dev, [where, 0])
        entry[1] += size
    for where, size in per_device.values():
        free = shutil.disk_usage(where).free
        if size > free:
            raise Refusal(f"not enough disk space: this needs about {size / 1e9:.1f} GB on the file system of {where} "
                          f"and {free / 1e9:.1f} GB are free")


def hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def measure_ms_per_step(model_dir: Path, past: int = 256, steps: int = 12) -> dict:
    """Median ms of one plain greedy step (q = 1) at `past` cached tokens, onnxruntime on one thread."""
    import numpy as np

    from training.parity import ContractSession, causal_mask

    session = ContractSession(model_dir, threads=1)
    past = min(past, session.msn["max_positions"] - steps - 1)
    vocab = session.msn["vocab_size"]
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, vocab, size=past + steps).tolist()
    _, keys, values = session.run(tokens[:past], range(past), causal_mask(0, past), session.empty_cache())
    cache = session.empty_cache().append(keys, values)
    times = []
    for index in range(past, past + steps):
        started = time.perf_counter()
        _, keys, values = session.run([tokens[index]], [index], causal_mask(index, 1), cache)
        times.append((time.perf_counter() - started) * 1000)
        cache = cache.append(keys, values)
    return {"ms_per_step": round(float(np.median(times)), 2), "past": past, "threads": 1,
            "how": f"median of {steps} one-token steps after a {past}-token prefill, onnxruntime (Python) on one thread"}


def parity(model_dir: Path, hf_model, quantize: str) -> dict:
    """Max abs logit differences: the graph against the PyTorch model (float32 exports) and against itself run
    causally (every export: what lossless tree decoding needs)."""
    from training.parity import ContractSession, check_parity, onnx_causal_reference, torch_causal_reference

    session = ContractSession(model_dir)
    result = {"self": max(check_parity(session, onnx_causal_reference(session)).values())}
    if quantize == "none":
        result["pytorch"] = max(check_parity(session, torch_causal_reference(hf_model)).values())
    return result


def install(source: Source, name: str, quantize: str, models_dir: Path, max_positions: int | None = None,
            training: dict | None = None, download_bytes: int = 0, progress=print) -> Path:
    """Export `source` into models_dir/NAME through a hidden temporary folder; returns the model folder."""
    from transformers import AutoConfig

    from training.architectures import UnsupportedModelError, architecture_of, check_positions, load_causal_lm
    from training.export import export_model_dir, onnx_size
    from training.parity import PARITY_TOLERANCE
    from training.prompt_formats import PromptFormatError
    from training.quantize import check_quantizable

    final = models_dir / name
    if final.exists():
        raise Refusal(f"{final} exists already: remove it (npm run model -- remove {name}) or pass --name")
    config = check_config_and_tokenizer(source.folder, source.repo)
    try:
        check_quantizable(config, quantize)
        limit = min(DEFAULT_MAX_POSITIONS, config.max_position_embeddings, getattr(config, "sliding_window", None) or 1 << 30)
        positions = check_positions(config, architecture_of(config), max_positions or limit)
    except UnsupportedModelError as error:
        raise Refusal(f"{source.repo} cannot be exported: {error}") from None
    check_disk([(hub_cache(), download_bytes), (models_dir, export_bytes(max(safetensors_bytes(source.folder), source.weight_bytes), config, quantize))])
    if download_bytes:
        # The weights (the small files are there): resumable, progress bars from huggingface_hub.
        from huggingface_hub import snapshot_download

        progress(f"downloading {download_bytes / 1e9:.2f} GB of {source.repo} into {hub_cache()} (resumable)")
        fetch(snapshot_download, source.repo, source.commit, SMALL_PATTERNS + WEIGHT_PATTERNS)
    remove_stale_partials(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = models_dir / f".{name}{PARTIAL_MARK}{os.getpid()}"
    try:
        progress(f"loading {source.folder} in float32")
        model, positions = load_causal_lm(source.folder, positions)
        record = {"method": "unknown", "source": source.repo, **({"revision": source.commit} if source.commit else {}),
                  **(training or {})}
        msn = export_model_dir(model, source.folder / "tokenizer.json", partial, name, record,
                               max_positions=positions, quantize=quantize)
        progress("checking parity (KV-cached prefill, chunks and a token tree against causal runs)")
        checks = parity(partial, model, quantize)
        if not max(checks.values()) < PARITY_TOLERANCE:
            raise Refusal(f"{source.repo}: the exported graph's logits differ by {max(checks.values()):.1e} from the reference, "
                          "so decoding would not be exact")
        del model
        gc.collect()
        progress("measuring a decoding step on this machine")
        speed = measure_ms_per_step(partial)
        info = {
            "name": name, "source": source.repo, "revision": source.revision, "commit": source.commit,
            "local": source.local, "license": source.license, "quantization": quantize, "weights": msn["weights"],
            "architecture": msn["architecture"], "parameters": msn["parameters"], "max_positions": msn["max_positions"],
            "prompt_format": msn["prompt"], "parity_max_abs_diff": checks, **speed,
            "bytes": folder_bytes(partial), "model_onnx_bytes": onnx_size(partial / "model.onnx"),
            "installed": time.strftime("%Y-%m-%d %H:%M:%S %z"), "machine": machine(),
            **({"training": training} if training else {}),
        }
        (partial / SOURCE_FILE).write_text(json.dumps(info, indent=1) + "\n")
        (partial / CARD_FILE).write_text(model_card(info, msn))
        os.replace(partial, final)
    except (UnsupportedModelError, PromptFormatError) as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise Refusal(f"{source.repo} cannot be exported: {error}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def remove_stale_partials(models_dir: Path) -> None:
    """Temporary folders of runs that died (their process is gone)."""
    if not models_dir.is_dir():
        return
    for path in models_dir.glob(f".*{PARTIAL_MARK}*"):
        pid = path.name.rsplit(PARTIAL_MARK, 1)[-1]
        if not pid.isdigit() or not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def machine() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores, {platform.system()}"


def model_card(info: dict, msn: dict) -> str:
    revision = "a local folder" if info["local"] else f"`{info['commit'] or info['revision'] or '?'}`"
    checks = ", ".join(f"{k} {v:.1e}" for k, v in info["parity_max_abs_diff"].items())
    training = info.get("training")
    lines = [
        f"# {info['name']}", "",
        f"Installed by `npm run model` ({'msn-tune' if training else 'add'}) on {info['installed']}.", "",
        f"- Source: `{info['source']}`, {revision}",
        f"- Licence (from the repository's metadata): {info['license'] or 'not stated; check the source before you use or share the model'}",
        f"- Architecture: {msn['architecture']}, {msn['parameters']:,} parameters, {msn['num_layers']} layers, hidden "
        f"{msn['hidden_size']}, {msn['num_attention_heads']} query / {msn['num_kv_heads']} key-value heads, vocab {msn['vocab_size']}",
        f"- Weights: {msn['weights']} (`--quantize {info['quantization']}`); model files {info['bytes']:,} bytes",
        f"- Prompt: FIM `{msn['prompt']['fim']['prefix']}` ... orders {', '.join(msn['prompt']['fim_orders'])}; repo-level "
        f"tokens {'yes' if msn['prompt']['repo'] else 'no'}; max positions {msn['max_positions']}",
        f"- Parity (max abs logit difference, tolerance 1e-4): {checks}",
        f"- Speed on this machine: {info['ms_per_step']} ms per plain greedy step ({info['how']}; {info['machine']})",
    ]
    if training:
        lines.append(f"- MSN fine-tuning: `{json.dumps(training)}`")
    lines += ["", "Quality was not measured by the installer; see docs/models.md.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- list, remove, settings

def installed(models_dir: Path) -> list[dict]:
    rows = []
    if not models_dir.is_dir():
        return rows
    for folder in sorted(models_dir.iterdir()):
        if folder.name.startswith(".") or not (folder / "msn.json").is_file():
            continue
        try:
            msn = json.loads((folder / "msn.json").read_text())
        except ValueError:
            msn = {}
        try:
            info = json.loads((folder / SOURCE_FILE).read_text()) if (folder / SOURCE_FILE).is_file() else {}
        except ValueError:
            info = {}
        rows.append({"name": folder.name, "path": str(folder), "bytes": folder_bytes(folder),
                     "weights": msn.get("weights", "float32"), "format": msn.get("format", "?"),
                     "source": describe_source(info), "parameters": msn.get("parameters")})
    return rows


def describe_source(info: dict) -> str:
    if not info:
        return "unknown"
    source = info.get("source", "?")
    if info.get("training", {}).get("method") == "msn":
        source = f"msn-tune of {source}"
    commit = info.get("commit")
    return f"{source}@{commit[:7]}" if commit and not info.get("local") else source


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size < 10 * 2**20 else f"{size / 2**20:,.0f} MiB"


def quantization_label(weights: str) -> str:
    return "int8" if weights.startswith("int8") else "int4" if weights.startswith("int4") else weights


def print_table(rows: list[dict], models_dir: Path) -> None:
    print(f"models in {models_dir}:")
    if not rows:
        print("  (none; npm run model -- add REPO_ID)")
        return
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        print(f"  {row['name']:<{width}}  {mib(row['bytes']):>11}  {row['format']} {quantization_label(row['weights']):<7}  {row['source']}")


def remove(name: str, models_dir: Path) -> Path:
    check_name(name)
    folder = models_dir / name
    if not (folder / "msn.json").is_file():
        known = ", ".join(row["name"] for row in installed(models_dir)) or "none"
        raise Refusal(f"there is no model {name} in {models_dir} (installed: {known})")
    shutil.rmtree(folder)
    return folder


def settings_files(environ: dict | None = None, platform: str | None = None) -> list[Path]:
    """VS Code user settings files to write `msnComplete.modelPath` into: $MSN_COMPLETE_VSCODE_SETTINGS, else every
    existing one of VS Code, Insiders, VSCodium and code-server, else VS Code's."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("MSN_COMPLETE_VSCODE_SETTINGS"):
        return [Path(environ["MSN_COMPLETE_VSCODE_SETTINGS"])]
    home = Path(environ.get("HOME") or Path.home())
    if platform.startswith("win"):
        base = Path(environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    candidates = [base / app / "User" / "settings.json" for app in ("Code", "Code - Insiders", "VSCodium")]
    candidates.append(home / ".local" / "share" / "code-server" / "User" / "settings.json")
    found = [path for path in candidates if path.is_file()]
    return found or candidates[:1]


def set_setting(text: str, key: str, value: str) -> str:
    """settings.json (JSON with comments) with `key` set to the string `value`, comments and layout kept."""
    encoded = json.dumps(value)
    pattern = re.compile(r'("' + re.escape(key) + r'"\s*:\s*)"(?:[^"\\]|\\.)*"')
    if pattern.search(text):
        return pattern.sub(lambda m: m.group(1) + encoded, text, count=1)
    if not text.strip():
        return "{\n  " + json.dumps(key) + ": " + encoded + "\n}\n"
    brace = text.index("{")
    rest = text[brace + 1:]
    empty = re.match(r"\s*}", re.sub(r"//[^\n]*|/\*.*?\*/", "", rest, flags=re.DOTALL)) is not None
    entry = "\n  " + json.dumps(key) + ": " + encoded + ("" if empty else ",")
    return text[:brace + 1] + entry + rest


def write_setting(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    temporary = path.with_name(path.name + ".msn-tmp")
    temporary.write_text(set_setting(text, SETTING, value), encoding="utf-8")
    os.replace(temporary, path)


# ---------------------------------------------------------------- CLI

def add(args: argparse.Namespace, progress=print) -> Path:
    if args.preset:
        if args.preset not in PRESETS:
            raise Refusal(f"there is no preset {args.preset} (presets: {', '.join(PRESETS)})")
        preset = PRESETS[args.preset]
        args.source = args.source or preset.repo
        args.quantize = args.quantize or preset.quantize
    if not args.source:
        raise Refusal("add needs a repository id, a folder or --preset NAME")
    quantize = args.quantize or "int8"
    models_dir = user_path(args.out) if args.out else models_home()
    name = check_name(args.name or model_name(args.source, quantize))
    if (models_dir / name).exists():
        raise Refusal(f"{models_dir / name} exists already: remove it (npm run model -- remove {name}) or pass --name")
    source, download_bytes = resolve(args.source, args.revision, progress)
    folder = install(source, name, quantize, models_dir, args.max_positions, download_bytes=download_bytes, progress=progress)
    report_installed(folder, args.set, progress)
    return folder


def report_installed(folder: Path, set_it: bool, progress=print) -> None:
    info = json.loads((folder / SOURCE_FILE).read_text())
    progress(f"installed {folder.name}: {mib(info['bytes'])}, {info['weights']}, {info['ms_per_step']} ms per step "
             f"here, parity {max(info['parity_max_abs_diff'].values()):.1e}")
    progress(f'"{SETTING}": {json.dumps(str(folder))}')
    if set_it:
        for path in settings_files():
            write_setting(path, str(folder))
            progress(f"set {SETTING} in {path}")
    else:
        progress("(pass --set to write it into VS Code's user settings, or pick it in MSN Complete: Select Model…)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="npm run model --", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    add_parser = commands.add_parser("add", help="download (or take a local folder), export, check and install a model")
    add_parser.add_argument("source", nargs="?", help="repository id (owner/name) or a local Hugging Face folder")
    add_parser.add_argument("--preset", help=f"one of {', '.join(PRESETS)} (see `presets`)")
    add_parser.add_argument("--quantize", choices=("int8", "int4", "none"), default=None, help="default int8")
    add_parser.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    add_parser.add_argument("--name", default=None, help="folder name (default: the repository's name and the quantization)")
    add_parser.add_argument("--out", default=None, help="models folder (default: $MSN_COMPLETE_MODELS or the user's cache)")
    add_parser.add_argument("--max-positions", type=int, default=None,
                            help=f"positions msn.json declares, the KV cache's size (default {DEFAULT_MAX_POSITIONS} or less)")
    add_parser.add_argument("--set", action="store_true", help=f"write {SETTING} into VS Code's user settings")
    for command in ("list", "remove"):
        sub = commands.add_parser(command, help="installed models" if command == "list" else "delete an installed model")
        if command == "remove":
            sub.add_argument("name")
        sub.add_argument("--out", default=None, help="models folder (default: $MSN_COMPLETE_MODELS or the user's cache)")
    commands.add_parser("presets", help="the models `add --preset` knows, with what was measured here")
    from training.msn_tune import add_arguments

    add_arguments(commands.add_parser("msn-tune", help="MSN fine-tuning of a checkpoint on the files of a folder, then export"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "add":
            add(args)
        elif args.command == "list":
            models_dir = user_path(args.out) if args.out else models_home()
            print_table(installed(models_dir), models_dir)
        elif args.command == "remove":
            models_dir = user_path(args.out) if args.out else models_home()
            print(f"removed {remove(args.name, models_dir)}")
        elif args.command == "presets":
            for preset in PRESETS.values():
                print(f"{preset.name:<22} {preset.repo:<40} {preset.parameters:>5}  default --quantize {preset.quantize}")
                print(f"{'':<22} measured here: {preset.measured or 'nothing yet (only the 0.5B shape was measured)'}")
        elif args.command == "msn-tune":
            from training.msn_tune import msn_tune

            msn_tune(args)
    except Refusal as refusal:
        print(f"msn-complete model: {refusal}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("msn-complete model: interrupted; nothing was installed (run the same command again: the download "
              "resumes where it stopped).", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Now: download threads would otherwise finish their files before the interpreter exits. What they
        # wrote stays in the hub cache as .incomplete files, which the next run continues.
        os._exit(130)
    return 0


if __name__ == "__main__":
    # Through the imported module, so that Refusal is the class training/msn_tune.py raises.
    from training.models import main as module_main

    sys.exit(module_main())
