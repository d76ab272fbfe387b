"""Sampler settings of one evaluation run, and their short names (``g2-y1.1-lauto-kw-s12``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Union


@dataclass(frozen=True)
class Setting:
    """Guidance, gamma, lambda (number or "auto"; 0 = region hold off), text rows, steps and the first Gumbel
    temperature (``linspace(temperature, 0, steps)``; upstream's 2) of one run."""

    guidance: float = 2.0
    gamma: float = 1.1
    lam: Union[float, str] = 0.0
    rows: str = "keywords"
    steps: int = 12
    seed: int = 0
    temperature: float = 2.0

    @property
    def name(self) -> str:
        """Short unique name, e.g. ``g2-y1.1-l0.5-kw-s12`` (``-t1`` appended when the temperature is not 2)."""
        lam = self.lam if self.lam == "auto" else f"{float(self.lam):g}"
        rows = "kw" if self.rows == "keywords" else "all"
        temperature = "" if self.temperature == 2.0 else f"-t{self.temperature:g}"
        return f"g{self.guidance:g}-y{self.gamma:g}-l{lam}-{rows}-s{self.steps}{temperature}"

    def as_dict(self) -> dict:
        """JSON form (with the name)."""
        return {"name": self.name, **asdict(self)}


def parse_setting(text: str) -> Setting:
    """A setting from ``key=value`` pairs joined by commas, e.g. ``guidance=2,lam=auto,rows=all``."""
    fields = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = pair.partition("=")
        if key in ("guidance", "gamma", "temperature"):
            fields[key] = float(value)
        elif key in ("steps", "seed"):
            fields[key] = int(value)
        elif key == "lam":
            fields[key] = value if value == "auto" else float(value)
        elif key == "rows":
            if value not in ("keywords", "all"):
                raise ValueError(f"rows must be keywords or all, got {value!r}")
            fields[key] = value
        else:
            raise ValueError(f"unknown setting key {key!r} in {text!r}")
    return Setting(**fields)


def standard_sweep(guidances=(1.0, 1.5, 2.0, 3.0), lambdas=(0.3, 0.5, 0.7), hold_guidance: float = 2.0) -> List[Setting]:
    """Guidance sweep with region hold off, then lambda sweep (keyword and all rows) and auto at one guidance."""
    sweep = [Setting(guidance=g, lam=0.0) for g in guidances]
    for rows in ("keywords", "all"):
        sweep += [Setting(guidance=hold_guidance, lam=lam, rows=rows) for lam in lambdas]
        sweep.append(Setting(guidance=hold_guidance, lam="auto", rows=rows))
    return sweep
