"""rankbench: compress a BERT cross-encoder ranker, measure every variant on every backend, decide.

Layers, each importing only those below it (tests/test_layout.py checks this):

    rankbench.cli, rankbench.experiment   the application: the command line, experiment files
    rankbench.reports                     everything that reads results.json (report, select, compare)
    rankbench.bench                       the harness: backends, timing, scenarios, parity, results
    rankbench.compress                    compression methods and recipes
    rankbench.models                      data, the ranker, training, metrics, baselines, ONNX export
    rankbench.common                      helpers for all: atomic files, digests, typed configs
"""
__version__ = "0.2.0"
