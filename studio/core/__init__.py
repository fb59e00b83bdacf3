"""The studio's Qt-free core: configs, data, training, runs, evaluation, the engine host and
its renders, and the command line. `genstudio train|sample|eval` and torchrun need nothing
else; the import-linter contract in pyproject.toml keeps Qt, pyqtgraph and widgets out of
every module here, present and future."""
