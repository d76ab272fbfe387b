"""Torch-reference evaluation of a trained tiny-model bundle over the evaluation set.

    /usr/bin/python3 -m tools.evaluate --bundle runs/tiny --out models/editmgt-tiny/figures/eval

Runs the reference sampler (``tools.editmgt.sampling``) on every case of ``models/editmgt-tiny/eval`` for several
settings (guidance, gamma, lambda incl. "auto", keyword or all text rows, steps), computes the metrics of
``tools/data/METRICS.md`` with ``tools/data/metrics.py`` and writes ``report.json``, ``report.md`` and a grid
PNG (source | ground truth | output). ``python3 -m tools.evaluate.figures`` draws the training curves.
"""

import os

# Workers run one torch thread each; OpenBLAS's default pool (all cores) in every worker oversubscribes
# them: 30 cases with 2 workers took 8 s with it and 5 s with one OpenBLAS thread. Set before torch loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
