"""Each package's ``__init__`` names its public surface, and every name it lists exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import service

PACKAGES = ["service", "service.stages", "service.stages.normalize", "service.state",
            "service.edges", "service.runtime"]


def test_every_package_names_its_surface() -> None:
    found = {name for _, name, is_package in pkgutil.walk_packages(service.__path__, "service.")
             if is_package}
    assert found | {"service"} == set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_listed_name_exists(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__all__, f"{name} lists no public names"
    for public in package.__all__:
        if not hasattr(package, public):
            importlib.import_module(f"{name}.{public}")  # a module the package does not import
        assert hasattr(package, public), f"{name}.{public} is listed in __all__ but missing"
