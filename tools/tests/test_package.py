"""``tools`` is one package with one import root: every module under tools/ loads as ``tools.<path>``."""

import importlib
import pkgutil
import sys
from pathlib import Path

import tools

TOOLS = Path(tools.__file__).resolve().parent


def test_every_module_under_tools_loads_once_under_its_tools_name():
    for module in pkgutil.walk_packages(tools.__path__, "tools."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    loaded_from_tools = {
        name: Path(module.__file__).resolve()
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None) and TOOLS in Path(module.__file__).resolve().parents
    }
    misnamed = sorted(name for name in loaded_from_tools if name != "tools" and not name.startswith("tools."))
    assert misnamed == []
    files = sorted(loaded_from_tools.values())
    assert len(files) == len(set(files)), "a file under tools/ is loaded under two module names"
