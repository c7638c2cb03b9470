"""llama.cpp's tokenizer test vectors for the code-model tokenizers people run, as tokenizer.json files.

llama.cpp keeps a vocab-only GGUF per tokenizer with test inputs (`.inp`) and the ids the model's own
Hugging Face tokenizer gives them (`.out`; written by its convert_hf_to_gguf_update.py). The
llama-cpp-python source distribution on PyPI ships that folder, so a pinned version of it is the source:
no file of the vectors is committed here. Each GGUF becomes a tokenizer.json through transformers'
GGUF reader, with what that reader leaves out filled in from the upstream tokenizer.json files
(PRE_TOKENIZERS, IGNORE_MERGES, restore_added_tokens). Every converted tokenizer is checked to
reproduce its vectors with the Rust `tokenizers` before it is written, so a difference the tests find
in our Node tokenizer is ours.

Used by scripts/setup.sh; the tests read the folder it writes:
  OUT/NAME/tokenizer.json, OUT/NAME/ggml-vocab-NAME.gguf.inp, OUT/NAME/ggml-vocab-NAME.gguf.out

CLI: python -m training.tokenizer_vectors [--out .cache/tokenizer-vectors]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Sequence

from tokenizers import Tokenizer

LLAMA_CPP_PYTHON = "0.3.36"  # its vendor/llama.cpp/models/ has all four vocabularies with .inp/.out
VOCABS = ("qwen2", "deepseek-coder", "starcoder", "llama-bpe")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / ".cache" / "tokenizer-vectors"
SEPARATOR = "\n__ggml_vocab_test__\n"  # what llama.cpp's test-tokenizer-0 splits the .inp file on

# Keyed by the GGUF's tokenizer.ggml.pre. transformers 5.24 maps qwen2 and llama-bpe to their split
# regexes but builds these two with plain GPT-2 splitting, which keeps digits together ("4 ½" differs).
# These are the pre-tokenizers of StarCoder2's and DeepSeek-Coder's tokenizer.json; llama.cpp's
# llama-vocab.cpp lists the same splits as regexes (LLAMA_VOCAB_PRE_TYPE_STARCODER / _DEEPSEEK_CODER).
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True}
_DIGITS = {"type": "Digits", "individual_digits": True}


def _split(regex: str) -> dict:
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}


PRE_TOKENIZERS = {
    "starcoder": {"type": "Sequence", "pretokenizers": [_DIGITS, {**_BYTE_LEVEL, "use_regex": True}]},
    "deepseek-coder": {"type": "Sequence", "pretokenizers": [
        _split(r"[\r\n]"), _split(r"\s?\p{L}+"), _split(r"\s?\p{P}+"),
        _split("[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"), _DIGITS, {**_BYTE_LEVEL, "use_regex": False}]},
}
# GGUF token types (llama.cpp's llama_token_type) of tokens that are added tokens in tokenizer.json.
CONTROL, USER_DEFINED = 3, 4
# Llama-3's tokenizer.json takes a whole pre-token that is in the vocabulary without merging
# (BPE ignore_merges); llama.cpp sets the same for this pre type. Without it " Việt" comes out as 3 ids.
IGNORE_MERGES = {"llama-bpe"}


def restore_added_tokens(tokenizer: dict, vocab: dict) -> None:
    """Adds back the control and user-defined tokens transformers dropped from a byte-level vocabulary.

    transformers 5.24 respells a token outside the byte alphabet into it and skips it as an added token,
    taking it for a mislabel. DeepSeek-Coder's <｜begin▁of▁sentence｜>, <｜fim▁begin｜>, ... (fullwidth bar,
    U+2581) are real ones: its tokenizer.json has them, spelled as they are, in the vocabulary and as added
    tokens (special for control ones only); without them no text can name them and FIM has no markers.
    The vocabulary key goes back to the plain spelling too: the Rust library gives an added token the id of
    its content in the vocabulary (the id written in added_tokens is not used) and a new id past it otherwise.
    """
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    if vocab.get("tokenizer_type") != "gpt2":
        return
    alphabet = set(bytes_to_unicode().values())
    model_vocab = tokenizer["model"]["vocab"]
    spelled = {index: token for token, index in model_vocab.items()}
    present = {added["id"] for added in tokenizer["added_tokens"]}
    for index, (token, kind) in enumerate(zip(vocab["tokens"], vocab.get("token_type") or ())):
        if kind in (CONTROL, USER_DEFINED) and index not in present and not set(token) <= alphabet:
            del model_vocab[spelled[index]]
            model_vocab[token] = index
            tokenizer["added_tokens"].append({"id": index, "content": token, "single_word": False, "lstrip": False,
                                              "rstrip": False, "normalized": False, "special": kind == CONTROL})
    tokenizer["added_tokens"].sort(key=lambda added: added["id"])


def download_sdist(folder: Path) -> Path:
    """The pinned llama-cpp-python source archive, fetched by pip from PyPI into `folder`."""
    subprocess.run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={LLAMA_CPP_PYTHON}",
                    "--no-deps", "--no-binary", ":all:", "--quiet", "--disable-pip-version-check",
                    "-d", str(folder)], check=True)
    return next(folder.glob("llama_cpp_python-*.tar.gz"))


def vocab_files(name: str) -> tuple[str, str, str]:
    base = f"ggml-vocab-{name}.gguf"
    return base, f"{base}.inp", f"{base}.out"


def extract_vocabs(sdist: Path, folder: Path, names: Sequence[str]) -> None:
    """Only the GGUF, .inp and .out files of `names` (flat, into `folder`); the rest of the archive is not unpacked."""
    wanted = {f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/models/{file}"
              for name in names for file in vocab_files(name)}
    with tarfile.open(sdist, "r:gz") as archive:
        members = [member for member in archive if member.name in wanted]
        missing = sorted(wanted - {member.name for member in members})
        if missing:
            raise FileNotFoundError(f"{sdist.name} has no {', '.join(missing)}")
        for member in members:
            member.name = Path(member.name).name
            archive.extract(member, folder, filter="data")


def gguf_tokenizer_json(gguf: Path) -> dict:
    """tokenizer.json (as a dict) of a GGUF's vocabulary, as transformers builds it, plus the fixes above.

    transformers' GGUF reader is called directly rather than through AutoTokenizer.from_pretrained(gguf_file=),
    which builds the same tokenizer but also parses the whole file for a model config (10x slower, needs `gguf`).
    """
    from transformers import TokenizersBackend
    from transformers.integrations.gguf import convert_gguf_tokenizer, get_gguf_tokenizer

    architecture, vocab, config = get_gguf_tokenizer(str(gguf))
    backend, _ = convert_gguf_tokenizer(architecture, vocab)
    fixed = json.loads(backend.to_str())
    restore_added_tokens(fixed, vocab)
    pre = vocab.get("pre_tokenizer_type")
    if pre in PRE_TOKENIZERS:
        fixed["pre_tokenizer"] = PRE_TOKENIZERS[pre]
    if pre in IGNORE_MERGES:
        fixed["model"]["ignore_merges"] = True
    # The tokenizer class then adds the BOS post-processor and the special-token roles the GGUF declares
    # (after the fixes, so DeepSeek-Coder's BOS is its own id rather than a new one).
    result = json.loads(TokenizersBackend(tokenizer_object=Tokenizer.from_str(json.dumps(fixed)), **config)
                        .backend_tokenizer.to_str())
    # GPT2Tokenizer, which transformers builds byte-level vocabularies with, adds its default <|endoftext|>
    # past the end of a vocabulary that has none (DeepSeek-Coder, Llama-3): an id the model does not have.
    result["added_tokens"] = [added for added in result["added_tokens"] if added["id"] < len(vocab["tokens"])]
    return result


def read_cases(inp: Path, out: Path) -> list[tuple[str, list[int]]]:
    """(text, expected ids) pairs, read the way test-tokenizer-0.cpp reads them."""
    texts = inp.read_text(encoding="utf-8").split(SEPARATOR)
    if texts and texts[-1] == "":
        texts.pop()  # the file ends with a separator
    ids = [[int(token) for token in line.split()] for line in out.read_text(encoding="utf-8").splitlines()]
    if len(texts) != len(ids):
        raise ValueError(f"{inp.name} has {len(texts)} inputs but {out.name} has {len(ids)} lines")
    return list(zip(texts, ids))


def mismatches(tokenizer: Tokenizer, cases: Sequence[tuple[str, list[int]]]) -> list[str]:
    """Cases whose ids differ; no BOS and no special-token parsing, as test-tokenizer-0.cpp encodes."""
    return [f"{text!r}: expected {ids}, got {got}" for text, ids in cases
            if (got := tokenizer.encode(text, add_special_tokens=False).ids) != ids]


def convert_vocab(name: str, source: Path, out: Path) -> int:
    """Writes OUT/NAME/ with tokenizer.json and the vectors; returns the number of cases (all matched)."""
    gguf, inp, expected = (source / file for file in vocab_files(name))
    tokenizer_json = gguf_tokenizer_json(gguf)
    cases = read_cases(inp, expected)
    bad = mismatches(Tokenizer.from_str(json.dumps(tokenizer_json)), cases)
    if bad:
        raise ValueError(f"the tokenizer built from {gguf.name} misses {len(bad)}/{len(cases)} vectors:\n  " + "\n  ".join(bad))
    target = out / name
    target.mkdir(parents=True, exist_ok=True)
    (target / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    for file in (inp, expected):
        shutil.copyfile(file, target / file.name)
    return len(cases)


def build(out: Path, names: Sequence[str] = VOCABS) -> dict[str, int]:
    """Downloads, extracts and converts into `out` (replaced as a whole, so a failed run leaves nothing half-written)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        scratch_dir = Path(scratch)
        source, staged = scratch_dir / "models", scratch_dir / "out"
        extract_vocabs(download_sdist(scratch_dir), source, names)
        counts = {name: convert_vocab(name, source, staged) for name in names}
        (staged / "SOURCE.json").write_text(json.dumps({"llama-cpp-python": LLAMA_CPP_PYTHON, "cases": counts}, indent=1) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        staged.rename(out)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default: .cache/tokenizer-vectors)")
    args = parser.parse_args(argv)
    for name, count in build(args.out).items():
        print(f"[tokenizer-vectors] {name}: {count}/{count} llama.cpp vectors reproduced by the converted tokenizer.json")


if __name__ == "__main__":
    main()
