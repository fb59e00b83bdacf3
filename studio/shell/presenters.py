"""Turn engines, data sources and data sets into the plain view models the panels take."""
from __future__ import annotations

import dataclasses
from typing import Any

from engines import OptimConfig, engine_names, get_engine
from widgets.viewmodels import DatasetView, EngineInfo, FieldSpec, SourceInfo

from studio.core.config import RunSection
from studio.core.data import DATA_SOURCES, Dataset
from widgets.pair_images import InterleavedImages, PairImages, interleave_order
from studio.core.options import field_default

_KINDS = {int: "int", float: "float", str: "str", bool: "bool"}


def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    out = []
    for f in dataclasses.fields(cls):
        default = field_default(f)
        m = f.metadata
        out.append(FieldSpec(name=f.name, kind=_KINDS.get(type(default), "str"), default=default,
                             help=m.get("help", ""), min=m.get("min"), max=m.get("max"),
                             choices=m.get("choices"), structural=m.get("structural", True)))
    return tuple(out)


def engine_infos() -> list[EngineInfo]:
    infos = []
    for name in engine_names():
        E = get_engine(name)
        doc = (E.description or (E.__doc__ or "").strip().split("\n\n")[0]).replace("\n", " ")
        infos.append(EngineInfo(name, doc, frozenset(E.capabilities), field_specs(E.Config)))
    return infos


def source_infos() -> list[SourceInfo]:
    return [SourceInfo(s.name, s.description, s.kind, field_specs(s.options))
            for s in DATA_SOURCES.values()]


def run_fields() -> tuple[FieldSpec, ...]:
    return field_specs(RunSection)


def optim_fields() -> tuple[FieldSpec, ...]:
    return field_specs(OptimConfig)


def dataset_view(ds: Dataset, description: str = "") -> DatasetView:
    images = ds.train_x if ds.spec.is_images else None
    labels = ds.train_y
    points = ds.train_x if not ds.spec.is_images else None
    skipped = [(f.path, f.reason) for f in ds.report.skipped] if ds.report else []
    noun, shape_text = "images", ""
    if getattr(ds, "pairing", "") == "paired":      # each thumbnail: source | target
        images = PairImages(ds.train_x2, ds.train_x)
        description = description or (f"Pairs: {ds.sides[0]} (left) -> {ds.sides[1]} (right)")
        noun = "pairs"
        shape_text = " → ".join("×".join(str(s) for s in a.shape[1:]) for a in (ds.train_x2, ds.train_x))
    elif getattr(ds, "pairing", "") == "unpaired":   # the two domains, alternating
        images = InterleavedImages(ds.train_x2, ds.train_x)
        if ds.train_y is not None and ds.train_y2 is not None:
            labels = images.interleave(ds.train_y2, ds.train_y)
        description = description or (
            f"Unpaired: thumbnails alternate the two domains, {ds.sides[0]!r} "
            f"({len(ds.train_x2):,} images) and {ds.sides[1]!r} ({len(ds.train_x):,} images); "
            "they hold different images, not pairs")
        noun = "images in two domains"
        shape_text = " | ".join("×".join(str(s) for s in a.shape[1:]) for a in (ds.train_x2, ds.train_x))
    return DatasetView(name=ds.name, kind=ds.spec.kind, images=images, points=points,
                       labels=labels, class_names=list(ds.class_names),
                       test_count=len(ds.test_x), skipped=skipped, description=description,
                       noun=noun, shape_text=shape_text)


def data_problem(config: Any, ds: Any) -> str:
    """Why the loaded data set `ds` cannot train `config`'s engine, before a run is made ("":
    it can, or `ds` is not the config's data set). A translator needs two sides, paired
    when it learns from pairs; the message names the engine's own data set and preset."""
    E = get_engine(config.engine)
    if "translate" not in E.capabilities or ds is None or ds.name != config.data_name:
        return ""
    pairing = getattr(ds, "pairing", "")
    if pairing in E.pairing_needed:
        return ""
    what = (f"this data set ({ds.name}) has one side" if not pairing else
            f"{ds.name} is {pairing}, and {E.name} learns from "
            f"{' or '.join(E.pairing_needed)} examples")
    return (f"{E.name} translates images from one side of a data set to the other: {what}. "
            f"Load {E.default_data} in the Data set panel (or another two-sided set), or pick "
            f"a {E.name} preset in the Run panel.")


def picked_image(ds: Any, index: int) -> tuple[str, int]:
    """What a browser thumbnail `index` of `ds` (as dataset_view shows it) is: ("target", i)
    = ds.train_x[i] (a paired set's pair i, or any one-sided image), or ("source", i) =
    ds.train_x2[i] (an unpaired set shows its two domains alternating)."""
    if getattr(ds, "pairing", "") != "unpaired":
        return "target", int(index)
    side, k = interleave_order(len(ds.train_x2), len(ds.train_x))[:, int(index)]
    return ("source" if side == 0 else "target"), int(k)


def as_plain(d: Any) -> Any:
    return dataclasses.asdict(d) if dataclasses.is_dataclass(d) else dict(d)
