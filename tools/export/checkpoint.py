# SPDX-License-Identifier: MIT
"""Reading and checking open_clip checkpoints of BiomedCLIP.

Two file forms, as the Hugging Face hub ships them:
  *.bin          a torch.save'd state dict (bare, or under "state_dict"; keys may carry the
                 "module." prefix of a DistributedDataParallel wrapper);
  *.safetensors  the safetensors layout, read here with numpy (there is no safetensors package):
                 u64 little-endian header length N, N bytes of JSON mapping each tensor name to
                 {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data that
                 follows the header; an optional "__metadata__" entry maps strings to strings),
                 then the raw little-endian, row-major tensor data.

load_checkpoint() returns a state dict of float32 tensors with the model's keys; infer_config()
reads the sizes from the shapes; check_state_dict() compares keys and shapes with a model and
raises CheckpointError naming every missing, unexpected and mis-shaped key.
"""
import json
import re
import struct
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from tools.reference.biomedclip_model import BiomedCLIP, ModelConfig

# Keys that older transformers versions saved as buffers; not parameters of the model.
IGNORED_KEYS = ("text.transformer.embeddings.position_ids",)

# The head counts are not in the shapes. ViT and BERT of every standard size use 64 per head.
HEAD_DIM = 64


class CheckpointError(Exception):
    """A checkpoint that cannot be read or does not fit the model; the text says why."""


# ---- safetensors ------------------------------------------------------------------------------

_ST_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # widened to float32 below: numpy has no bfloat16
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_ST_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
             torch.uint8: "U8", torch.bool: "BOOL"}

# A header larger than this is not a checkpoint header (the format's own limit is 100 MB).
_ST_MAX_HEADER = 100 * 1000 * 1000


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """Read every tensor of a .safetensors file. Raises CheckpointError on a malformed file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise CheckpointError(f"{path}: too short for a safetensors file ({len(data)} bytes)")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > min(_ST_MAX_HEADER, len(data) - 8):
        raise CheckpointError(f"{path}: safetensors header length {header_len} exceeds the file")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{path}: safetensors header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: safetensors header is not a JSON object")
    body = memoryview(data)[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _safetensors_tensor(path, name, info, body)
    return tensors


def _safetensors_tensor(path: str, name: str, info, body: memoryview) -> torch.Tensor:
    where = f"{path}: tensor {name!r}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where}: entry must have exactly dtype, shape and data_offsets")
    dtype = _ST_DTYPES.get(info["dtype"])
    if dtype is None:
        raise CheckpointError(f"{where}: unsupported dtype {info['dtype']!r}")
    shape, offsets = info["shape"], info["data_offsets"]
    if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
            or not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)):
        raise CheckpointError(f"{where}: malformed shape or data_offsets")
    begin, end = offsets
    count = int(np.prod(shape, dtype=np.int64))
    if not 0 <= begin <= end <= len(body) or end - begin != count * dtype.itemsize:
        raise CheckpointError(f"{where}: data_offsets {offsets} do not hold shape {shape} of "
                              f"{info['dtype']} inside {len(body)} bytes of data")
    array = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape)
    if info["dtype"] == "BF16":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=True))


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor],
                      metadata: Optional[Dict[str, str]] = None) -> None:
    """Write tensors (float64/32/16 or integer) in the safetensors layout, in key order."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    chunks, offset = [], 0
    for name, tensor in tensors.items():
        if tensor.dtype not in _ST_NAMES:
            raise ValueError(f"write_safetensors: {name}: dtype {tensor.dtype} not supported")
        array = tensor.detach().cpu().contiguous().numpy()
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_NAMES[tensor.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data then starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


# ---- torch .bin -------------------------------------------------------------------------------

def read_torch_bin(path: str) -> Dict[str, torch.Tensor]:
    """Read a torch.save'd state dict onto the CPU without running pickled code."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad file
        raise CheckpointError(f"{path}: cannot read as a torch checkpoint: {e}") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"{path}: not a state dict (found {type(obj).__name__})")
    return obj


# ---- loading and checking ---------------------------------------------------------------------

def load_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """Read a .bin or .safetensors checkpoint as {key: float32 tensor}, with a leading
    "module." stripped and the ignored buffers dropped. Raises CheckpointError."""
    if path.endswith(".safetensors"):
        raw = read_safetensors(path)
    else:
        raw = read_torch_bin(path)
    state = {}
    for key, value in raw.items():
        if key.startswith("module."):
            key = key[len("module."):]
        if key in IGNORED_KEYS:
            continue
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: entry {key!r} is not a tensor")
        if not value.is_floating_point():
            raise CheckpointError(f"{path}: tensor {key!r} has dtype {value.dtype}, "
                                  "expected floating point")
        state[key] = value.to(torch.float32)
    return state


def _shape(state, key, ndim):
    if key not in state:
        raise CheckpointError(f"cannot infer the model sizes: missing key {key}")
    shape = tuple(state[key].shape)
    if len(shape) != ndim:
        raise CheckpointError(f"cannot infer the model sizes: {key} has shape {list(shape)}, "
                              f"expected {ndim} dimensions")
    return shape


def _layer_count(state, pattern):
    indices = [int(m.group(1)) for m in map(re.compile(pattern).match, state) if m]
    return max(indices) + 1 if indices else 0


def infer_config(state: Dict[str, torch.Tensor], context_length: int = 256,
                 pad_id: int = 0, vision_heads: Optional[int] = None,
                 text_heads: Optional[int] = None) -> ModelConfig:
    """The sizes of the model a state dict holds, read from its shapes. Head counts are not
    stored: they default to width / 64 unless given. Raises CheckpointError."""
    vision_width = _shape(state, "visual.trunk.cls_token", 3)[2]
    patch = _shape(state, "visual.trunk.patch_embed.proj.weight", 4)[3]
    tokens = _shape(state, "visual.trunk.pos_embed", 3)[1]
    grid = int(round((tokens - 1) ** 0.5))
    if grid * grid != tokens - 1:
        raise CheckpointError(f"visual.trunk.pos_embed holds {tokens} positions, not a square "
                              "grid plus a class token")
    vocab, text_width = _shape(state, "text.transformer.embeddings.word_embeddings.weight", 2)
    cfg = ModelConfig(
        embed_dim=_shape(state, "visual.head.proj.weight", 2)[0],
        image_size=grid * patch,
        patch_size=patch,
        vision_width=vision_width,
        vision_layers=_layer_count(state, r"visual\.trunk\.blocks\.(\d+)\."),
        vision_heads=vision_heads or max(1, vision_width // HEAD_DIM),
        vision_mlp=_shape(state, "visual.trunk.blocks.0.mlp.fc1.weight", 2)[0],
        vocab_size=vocab,
        text_width=text_width,
        text_layers=_layer_count(state, r"text\.transformer\.encoder\.layer\.(\d+)\."),
        text_heads=text_heads or max(1, text_width // HEAD_DIM),
        text_mlp=_shape(state, "text.transformer.encoder.layer.0.intermediate.dense.weight", 2)[0],
        max_positions=_shape(state, "text.transformer.embeddings.position_embeddings.weight", 2)[0],
        type_vocab_size=_shape(state, "text.transformer.embeddings.token_type_embeddings.weight",
                               2)[0],
        proj_hidden=_shape(state, "text.proj.0.weight", 2)[0],
        context_length=context_length,
        pad_id=pad_id,
    )
    try:
        cfg.validate()
    except ValueError as e:
        raise CheckpointError(f"checkpoint sizes do not make a model: {e}") from None
    return cfg


def check_state_dict(state: Dict[str, torch.Tensor], model: torch.nn.Module) -> None:
    """Raise CheckpointError listing every missing, unexpected and mis-shaped key."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(k for k in expected if k not in state)
    unexpected = sorted(k for k in state if k not in expected)
    misshaped = sorted(f"{k}: checkpoint {list(state[k].shape)}, model {list(expected[k])}"
                       for k in expected if k in state and tuple(state[k].shape) != expected[k])
    problems = []
    for title, items in (("missing", missing), ("unexpected", unexpected),
                         ("wrong shape", misshaped)):
        if items:
            problems.append(f"{len(items)} {title} key(s):\n    " + "\n    ".join(items))
    if problems:
        raise CheckpointError("checkpoint does not match the BiomedCLIP architecture:\n  "
                              + "\n  ".join(problems))


def build_model(state: Dict[str, torch.Tensor], cfg: ModelConfig,
                attention: str = "auto") -> BiomedCLIP:
    """The reference model of size cfg with the checked state dict loaded, in eval mode,
    float32 on the CPU. Raises CheckpointError."""
    model = BiomedCLIP(cfg, attention=attention)
    check_state_dict(state, model)
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_model(path: str, cfg: Optional[ModelConfig] = None, attention: str = "auto",
               **infer_args) -> Tuple[BiomedCLIP, ModelConfig]:
    """Read the checkpoint at `path` and build its model; returns the model and its config.
    Without cfg the sizes are inferred (infer_args go to infer_config). Raises
    CheckpointError."""
    state = load_checkpoint(path)
    if cfg is None:
        cfg = infer_config(state, **infer_args)
    return build_model(state, cfg, attention), cfg
