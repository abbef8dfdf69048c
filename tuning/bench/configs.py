"""What bench compares: the pinned configuration it trains and the paths it times.

Apart from the code that trains, so the command line can list the configurations without
loading Keras.
"""

from __future__ import annotations

from hypermodels import space

# The pinned configuration every bench run trains: the course's MNIST model.
BENCH_VALUES = space.COURSE_VALUES["mnist"]
# Each configuration: (training, precision) for `training_path`, then XLA when forced, then
# oneDNN ("1" on, "0" off, None: TensorFlow's own default, which is off on AVX2 CPUs).
# `baseline` and `fast` are what bench compares; the others each change one lever of
# `fast`, to measure what it is worth on this machine (docs/speed.md).
CONFIGS: dict[str, tuple[str, str, bool | None, str | None]] = {
    "baseline": ("plain", "float32", None, None),
    "fast": ("fast", "auto", None, "1"),
    "plain+onednn": ("plain", "float32", None, "1"),
    "fast-onednn": ("fast", "auto", None, "0"),
    "fast+xla": ("fast", "auto", True, "1"),
    "fast+bf16": ("fast", "mixed_bfloat16", None, "1"),
}
DEFAULT_CONFIGS = ("baseline", "fast")
