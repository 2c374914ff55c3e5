"""targets.yaml as a resource, so every step reads the same validated configuration."""

import dagster as dg

from fleet_assets.lib.targets import Target, TargetConfigError, load_targets


class TargetsResource(dg.ConfigurableResource):
    """Loads and validates targets.yaml (path from ``FLEET_TARGETS``).

    A configuration error is a ``dg.Failure`` without retries: no attempt can fix it.
    """

    path: str

    def load(self) -> dict[str, Target]:
        try:
            return load_targets(self.path)
        except TargetConfigError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    def get(self, name: str, loaded: dict[str, Target] | None = None) -> Target:
        """The target ``name``, from ``loaded`` when the step has read the file already."""
        targets = self.load() if loaded is None else loaded
        if name not in targets:
            raise dg.Failure(
                description=f"target {name!r} is a partition but not in {self.path}; add it back "
                f"to the file or delete the partition (known: {', '.join(sorted(targets))})",
                allow_retries=False,
            )
        return targets[name]
