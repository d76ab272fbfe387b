"""The model package's ``manifest.json`` (DESIGN section 3): build, hash, validate, write.

The one schema is the TypeScript zod schema in ``src/schema``; its generated JSON Schema
(``src/schema/manifest.schema.json``) is what this module validates against, so the Python tools and the
TS side cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

FORMAT = "editmgt-manifest/1"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "src" / "schema" / "manifest.schema.json"

UPSTREAM_NEGATIVE_PROMPT = (
    "worst quality, low quality, low res, blurry, distortion, watermark, logo, signature, text, jpeg artifacts, "
    "signature, sketch, duplicate, ugly, identifying mark"
)


class ManifestError(ValueError):
    """A manifest does not satisfy the schema; the message lists every violation with its JSON path."""


def file_entry(folder: Path, relative_path: str) -> Dict[str, Any]:
    """``{path, sha256, bytes}`` of one file of the package (hashed in 1 MiB chunks)."""
    path = Path(folder) / relative_path
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"path": relative_path, "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def component(folder: Path, name: str, kind: str, paths: Sequence[str], dtype: Optional[str] = None,
              role: Optional[str] = None) -> Dict[str, Any]:
    """One ``components[]`` entry with every file (external data included) hashed."""
    entry: Dict[str, Any] = {"name": name, "kind": kind}
    if role is not None:
        entry["role"] = role
    if dtype is not None:
        entry["dtype"] = dtype
    entry["files"] = [file_entry(folder, p) for p in paths]
    return entry


def variant(folder: Path, dtype: str, paths: Sequence[str], devices: Optional[Sequence[str]] = None,
            peak_bytes: Optional[int] = None) -> Dict[str, Any]:
    """One ``variants[]`` entry of a component: dtype, hashed files, the devices ``dtype: "auto"`` picks it on."""
    entry: Dict[str, Any] = {"dtype": dtype, "files": [file_entry(folder, p) for p in paths]}
    if devices:
        entry["devices"] = list(devices)
    if peak_bytes is not None:
        entry["peakBytes"] = int(peak_bytes)
    return entry


def load_schema(schema_path: Path = SCHEMA_PATH) -> Dict[str, Any]:
    """The committed JSON Schema generated from the zod manifest schema."""
    if not schema_path.exists():
        raise ManifestError(f"manifest schema not found at {schema_path} (generated from src/schema/manifest.ts)")
    return json.loads(schema_path.read_text())


def validate_manifest(manifest: Mapping[str, Any], schema_path: Path = SCHEMA_PATH) -> None:
    """Raise ManifestError listing every schema violation (python3-jsonschema, the schema's own draft)."""
    import jsonschema

    schema = load_schema(schema_path)
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(manifest), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]
        raise ManifestError("manifest.json does not match the schema:\n" + "\n".join(lines))


def consistency_problems(manifest: Mapping[str, Any], require_text: bool = True) -> List[str]:
    """Cross-field rules the JSON Schema cannot express, as ``ManifestSchema.superRefine`` in
    src/schema/manifest.ts states them: mask id outside the codebook, unique component names, exactly
    one VQ encoder, VQ decoder and transformer, text encoders for both the context and pooled features
    and a tokenizer for the context (``require_text=False`` skips the text rules, for a converted
    checkpoint whose text encoders are exported separately); weight variants on graphs only, each dtype
    once and never the base files' dtype.
    """
    problems = []
    if manifest["vq"]["maskTokenId"] < manifest["vq"]["codebookSize"]:
        problems.append("maskTokenId must be outside the codebook (>= codebookSize)")
    components = manifest["components"]
    names = [c["name"] for c in components]
    problems += [f"duplicate component name {n!r}" for n in sorted({n for n in names if names.count(n) > 1})]
    for kind in ("vq-encoder", "vq-decoder", "transformer"):
        count = sum(c["kind"] == kind for c in components)
        if count != 1:
            problems.append(f"a model needs exactly one {kind} component, found {count}")
    if require_text:
        for kind, needed in (("text-encoder", ("context", "pooled")), ("tokenizer", ("context",))):
            roles = set()
            for c in components:
                if c["kind"] == kind:
                    role = c.get("role", "both")
                    roles |= {"context", "pooled"} if role == "both" else {role}
            problems += [f"no {kind} serves the {role} features" for role in needed if role not in roles]
    for c in components:
        dtypes = [c.get("dtype", "fp32")] + [v["dtype"] for v in c.get("variants", [])]
        if c["kind"] == "tokenizer" and "variants" in c:
            problems.append(f"{c['name']}: a tokenizer has no weight variants")
        problems += [f"{c['name']}: variant dtype {d} repeats the base or another variant"
                     for d in sorted({d for d in dtypes[1:] if dtypes.count(d) > 1})]
    return problems


def write_manifest(folder: Path, manifest: Mapping[str, Any], validate: bool = True,
                   require_text: bool = True) -> Path:
    """Validate (by default: JSON Schema and consistency rules) and write ``manifest.json``."""
    if validate:
        validate_manifest(manifest)
        problems = consistency_problems(manifest, require_text)
        if problems:
            raise ManifestError("manifest.json is inconsistent:\n" + "\n".join(f"  {p}" for p in problems))
    path = Path(folder) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def build_manifest(*, model_id: str, version: str, license: str, source: str, resolution: int,
                   vq_grid: Sequence[int], codebook_size: int, mask_token_id: int,
                   transformer_grid: Sequence[int], timestep: str, micro_conds: Sequence[float],
                   localization_blocks: Sequence[int], text: Mapping[str, int],
                   defaults: Mapping[str, Any], components: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Assemble the manifest document (camelCase keys, contract order)."""
    return {
        "format": FORMAT,
        "id": model_id,
        "version": version,
        "license": license,
        "source": source,
        "resolution": {"width": resolution, "height": resolution},
        "vq": {"grid": {"height": vq_grid[0], "width": vq_grid[1]}, "codebookSize": codebook_size,
               "maskTokenId": mask_token_id},
        "transformer": {"grid": {"height": transformer_grid[0], "width": transformer_grid[1]},
                        "timestep": timestep, "microConds": [float(v) for v in micro_conds],
                        "localizationBlocks": list(localization_blocks)},
        "text": dict(text),
        "defaults": dict(defaults),
        "components": components,
    }


def max_tensor_bytes(graph_path: Path) -> int:
    """Bytes of the largest single tensor stored in an ONNX graph: initializers (external data included,
    by its recorded length, without reading it) and ``Constant`` node values, in every subgraph.

    This is what a manifest's ``maxTensorBytes`` states for a component or variant: on WebGPU each such
    tensor becomes one GPU buffer, which must fit the adapter's ``maxBufferSize`` and
    ``maxStorageBufferBindingSize``; the SDK checks it before downloading. It is read from the file, not
    measured, unlike ``peakBytes``, which the tools write only when a run measured it.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    packed_4bit = {getattr(TensorProto, name) for name in ("INT4", "UINT4") if hasattr(TensorProto, name)}

    def size(tensor: "onnx.TensorProto") -> int:
        if tensor.data_location == TensorProto.EXTERNAL:
            entries = {entry.key: entry.value for entry in tensor.external_data}
            if "length" in entries:
                return int(entries["length"])
        if tensor.raw_data:
            return len(tensor.raw_data)
        count = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
        if tensor.data_type in packed_4bit:
            return (count + 1) // 2
        return count * np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize

    def graph_tensors(graph: "onnx.GraphProto"):
        yield from graph.initializer
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.TENSOR:
                    yield attribute.t
                elif attribute.type == onnx.AttributeProto.GRAPH:
                    yield from graph_tensors(attribute.g)
                elif attribute.type == onnx.AttributeProto.GRAPHS:
                    for subgraph in attribute.graphs:
                        yield from graph_tensors(subgraph)

    model = onnx.load(str(graph_path), load_external_data=False)
    return max((size(tensor) for tensor in graph_tensors(model.graph)), default=0)
