"""One experiment: what a search is about, in one small object that run.json keeps.

Its data (where from, its digest, the image shape and class names), its network and search
space, its objective, and the course's extras where they apply: the warm start, the
ReduceLROnPlateau factor and the ablation variants. `tune` defines it once it has read the
data; every other process of the search (trials, workers, resume, `report`, `ablate`,
`confirm`) rebuilds it from run.json rather than from a dataset's name (issue 24).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from hypermodels import COURSE_CLASSES, COURSE_INPUT, NETWORKS, check_input, space
from tuning.errors import DataError
from tuning.idx import COURSE_DATASETS
from tuning.objective import DEFAULT as OBJECTIVE
from tuning.objective import VAL_ACCURACY, Objective
from tuning.sources import Dataset

# ReduceLROnPlateau factors the course tuned per dataset (0.3787 MNIST, 0.32 Fashion-MNIST);
# elsewhere 0.3, near both.
LR_FACTORS = {"mnist": 0.3787, "fashion-mnist": 0.32}
DEFAULT_LR_FACTOR = 0.3


@dataclass(frozen=True)
class Experiment:
    """The data, network, space and objective of one search, and the course's extras."""

    name: str  # the built-in name, or the file's or folder's stem
    source: dict  # kind, location and digest of the data
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    hypermodel: str
    space: str
    objective: str = OBJECTIVE  # the metric that ranks the trials
    direction: str = "max"  # higher (max) or lower (min) is better; saved before: max
    warm_start: dict[str, space.Value] | None = None  # the course's values, where it has any
    lr_factor: float = DEFAULT_LR_FACTOR
    # Ablation: each variant's name and the hyperparameters it switches off.
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    model: str | None = None  # a user's model function (--model), searched over the card
    code: dict = field(default_factory=dict)  # a user's code: its spec, file and sha256

    @property
    def num_classes(self) -> int:
        """How many classes the network tells apart."""
        return len(self.class_names)

    @property
    def goal(self) -> Objective:
        """The objective: its metric and which way is better."""
        return Objective(self.objective, self.direction)

    @property
    def is_course(self) -> bool:
        """Whether this is one of the course's two datasets, where its extras apply."""
        return self.name in COURSE_DATASETS

    def to_json(self) -> dict:
        """The experiment as JSON-ready values, for run.json."""
        values = asdict(self)
        values["variants"] = {k: list(v) for k, v in self.variants.items()}
        return values

    @classmethod
    def from_json(cls, values: dict) -> Experiment:
        """The experiment run.json saved."""
        return cls(
            **{
                **values,
                "input_shape": tuple(values["input_shape"]),
                "class_names": tuple(values["class_names"]),
                "variants": {k: tuple(v) for k, v in values.get("variants", {}).items()},
            }
        )


def course_lr_factor(name: str) -> float:
    """The ReduceLROnPlateau factor for a dataset: the course's for its two, else 0.3."""
    return LR_FACTORS.get(name, DEFAULT_LR_FACTOR)


def define(
    dataset: Dataset,
    hypermodel: str,
    space_name: str,
    warm_start: bool = True,
    lr_factor: float | None = None,
    model: str | None = None,
    code: dict | None = None,
    goal: Objective = VAL_ACCURACY,
) -> Experiment:
    """The experiment of a search of `hypermodel` over `space_name` on `dataset`.

    The warm start and the learning-rate factor are the course's on its two datasets; any
    other data starts from random points, with ReduceLROnPlateau's factor at 0.3.

    Raises:
        DataError: the images are too small for the network.
    """
    try:
        check_input(hypermodel if model is None else "model", dataset.input_shape)
    except ValueError as e:
        raise DataError(f"{dataset.source.get('location', dataset.name)}: {e}") from None
    # A user's HyperModel has names of its own: the course's values and variants may not
    # apply to it.
    own_names = model is None and hypermodel not in NETWORKS
    course = dataset.name in COURSE_DATASETS and not own_names
    return Experiment(
        name=dataset.name,
        source=dataset.source,
        input_shape=dataset.input_shape,
        class_names=tuple(dataset.class_names),
        hypermodel=hypermodel,
        space=space_name,
        objective=goal.name,
        direction=goal.direction,
        warm_start=space.course_values(dataset.name) if course and warm_start else None,
        lr_factor=lr_factor or course_lr_factor(dataset.name),
        variants=dict(space.ABLATION_VARIANTS),
        model=model,
        code=code or {},
    )


def saved(run: dict) -> Experiment:
    """The experiment of a saved search; one saved before experiments had none in run.json.

    Those searches ran on the course's datasets only, whose shape and classes are fixed.
    """
    if "experiment" in run:
        return Experiment.from_json(run["experiment"])
    config = run["config"]
    name = config["dataset"]
    return Experiment(
        name=name,
        source=run.get("data_source", {}),
        input_shape=COURSE_INPUT,
        class_names=tuple(str(i) for i in range(COURSE_CLASSES)),
        hypermodel=config["hypermodel"],
        space=config.get("space", "card"),
        warm_start=space.course_values(name) if config.get("warm_start") else None,
        lr_factor=config.get("lr_factor") or course_lr_factor(name),
        variants=dict(space.ABLATION_VARIANTS),
    )
