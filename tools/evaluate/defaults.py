"""Write the evaluation's chosen sampler settings into a package's manifest.json ``defaults``.

    /usr/bin/python3 -m tools.evaluate.defaults --report DIR/report.json --manifest models/editmgt-tiny/manifest.json

Takes ``choice.default`` of report.json (steps, guidance, gamma, lambda, temperature); the manifest is
validated against src/schema/manifest.schema.json by the exporter's ``write_manifest`` before it is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tools.evaluate.settings import Setting
from tools.export.manifest import write_manifest


def chosen_defaults(report: dict) -> dict:
    """Manifest ``defaults`` fields of the report's chosen setting."""
    setting = report["choice"]["default"]
    return {"steps": setting["steps"], "guidance": setting["guidance"], "gamma": setting["gamma"],
            "lambda": setting["lam"], "temperature": [setting.get("temperature", Setting.temperature), 0.0]}


def main() -> None:
    """Command-line entry point (see module doc)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    args = parser.parse_args()
    manifest = json.loads(args.manifest.read_text())
    manifest["defaults"] = {**manifest["defaults"], **chosen_defaults(json.loads(args.report.read_text()))}
    write_manifest(args.manifest.parent, manifest)
    print(json.dumps(manifest["defaults"]))


if __name__ == "__main__":
    main()
