"""Strict key matching between a checkpoint and a module, with a report a person can read.

A converter must refuse a checkpoint whose tensors do not map one to one onto the module: a missing key
would leave random weights, an unexpected one means the architecture differs, a shape mismatch means
the config is wrong. The report groups keys that differ only in their block index
(``transformer_blocks.{0-13}.attn.to_q.weight``), so a wrong layer count reads as one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
import torch

Shape = Tuple[int, ...]

_INDEX = re.compile(r"\.(\d+)(?=\.)")


class CheckpointMismatchError(ValueError):
    """The checkpoint's keys or shapes do not match the module; the message is the full report."""

    def __init__(self, component: str, report: "KeyReport"):
        super().__init__(f"{component}: checkpoint does not match the model\n{report.format()}")
        self.component = component
        self.report = report


@dataclass
class KeyReport:
    """Outcome of comparing checkpoint keys/shapes with the keys/shapes a module expects."""

    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, Shape, Shape]] = field(default_factory=list)  # key, expected, found
    matched: int = 0
    expected_keys: List[str] = field(default_factory=list, repr=False)
    found_keys: List[str] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        """True when every key matches with the same shape."""
        return not (self.missing or self.unexpected or self.mismatched)

    def format(self) -> str:
        """Readable multi-line summary; keys differing only in block indices are folded into one line."""
        lines = [f"matched {self.matched} tensors, {len(self.missing)} missing, "
                 f"{len(self.unexpected)} unexpected, {len(self.mismatched)} with a different shape"]
        for title, keys, universe in (("missing from the checkpoint", self.missing, self.expected_keys),
                                      ("unexpected in the checkpoint", self.unexpected, self.found_keys)):
            if keys:
                lines.append(f"{title}:")
                lines.extend(f"  {pattern}" for pattern in _summarize(keys, universe))
        if self.mismatched:
            lines.append("shape mismatches (model expects vs checkpoint has):")
            folded: Dict[Tuple[str, Shape, Shape], List[str]] = {}
            for key, expected, found in self.mismatched:
                folded.setdefault((_pattern(key), expected, found), []).append(key)
            for (pattern, expected, found), keys in folded.items():
                lines.append(f"  {fold_keys(keys)[0]}: {list(expected)} vs {list(found)}")
        return "\n".join(lines)


def _pattern(key: str) -> str:
    return _INDEX.sub(".*", key)


def _ranges(indices: Sequence[int]) -> str:
    """'0-3,7' for [0,1,2,3,7]."""
    parts = []
    start = prev = indices[0]
    for i in list(indices[1:]) + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ",".join(parts)


def fold_keys(keys: Sequence[str]) -> List[str]:
    """Fold keys that differ only in their numeric path parts into ``a.{0-13}.b`` patterns.

    Keys with several numeric parts are folded on the first part that varies; order of first appearance
    is kept.
    """
    groups: Dict[str, List[str]] = {}
    for key in keys:
        groups.setdefault(_pattern(key), []).append(key)
    out = []
    for pattern, members in groups.items():
        if len(members) == 1:
            out.append(members[0])
            continue
        index_lists = [[int(m) for m in _INDEX.findall(k)] for k in members]
        columns = list(zip(*index_lists))
        parts = pattern.split(".*")
        text = parts[0]
        for column, tail in zip(columns, parts[1:]):
            values = sorted(set(column))
            text += "." + (str(values[0]) if len(values) == 1 else "{" + _ranges(values) + "}") + tail
        out.append(text)
    return out


def _block_prefix(key: str) -> str:
    """'single_transformer_blocks.27' for 'single_transformer_blocks.27.attn.to_q.weight' ('' if no index)."""
    match = _INDEX.search(key)
    return key[:match.end()] if match else ""


def _summarize(keys: Sequence[str], universe: Sequence[str]) -> List[str]:
    """Fold keys; a numbered block all of whose keys are listed reads as one 'whole block' line."""
    block_sizes: Dict[str, int] = {}
    for key in universe:
        prefix = _block_prefix(key)
        if prefix:
            block_sizes[prefix] = block_sizes.get(prefix, 0) + 1
    listed_per_block: Dict[str, int] = {}
    for key in keys:
        prefix = _block_prefix(key)
        if prefix:
            listed_per_block[prefix] = listed_per_block.get(prefix, 0) + 1
    whole = {p for p, n in listed_per_block.items() if n == block_sizes.get(p) and n > 1}
    lines = [f"{pattern} (whole blocks)" for pattern in fold_keys([p + ".x" for p in sorted(whole)])]
    lines = [line.replace(".x (whole", " (whole") for line in lines]
    lines += fold_keys([k for k in keys if _block_prefix(k) not in whole])
    return lines


def compare_shapes(expected: Mapping[str, Shape], found: Mapping[str, Shape]) -> KeyReport:
    """Compare the keys/shapes a module expects with those a checkpoint holds (order: module's)."""
    report = KeyReport(expected_keys=list(expected), found_keys=list(found))
    for key, shape in expected.items():
        if key not in found:
            report.missing.append(key)
        elif tuple(found[key]) != tuple(shape):
            report.mismatched.append((key, tuple(shape), tuple(found[key])))
        else:
            report.matched += 1
    report.unexpected = [key for key in found if key not in expected]
    return report


def module_shapes(module: torch.nn.Module) -> Dict[str, Shape]:
    """Keys and shapes of a module's state_dict (parameters and persistent buffers)."""
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def load_strict(module: torch.nn.Module, state: Mapping[str, np.ndarray], component: str) -> KeyReport:
    """Load numpy tensors into ``module`` only if keys and shapes match exactly; else raise with the report.

    Values are cast to each parameter's dtype. Returns the (clean) report.
    """
    report = compare_shapes(module_shapes(module), {k: tuple(v.shape) for k, v in state.items()})
    if not report.ok:
        raise CheckpointMismatchError(component, report)
    current = module.state_dict()
    tensors = {key: torch.from_numpy(np.ascontiguousarray(value)).to(current[key].dtype)
               for key, value in state.items()}
    module.load_state_dict(tensors, strict=True)
    return report
