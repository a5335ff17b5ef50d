"""``store_factory``: the contract suites run once per SheetStore (memory, workbook, Google)."""

from __future__ import annotations

import pytest

from tests.contract.backends import STORES, Backend, Seed, StoreFactory, backend


@pytest.fixture(params=STORES)
def store_factory(request: pytest.FixtureRequest, tmp_path) -> StoreFactory:
    """``make(sheets, locale="fr_FR")``: the backend with ``sheets`` (name → rows, headers first)."""

    def make(sheets: Seed, locale: str = "fr_FR") -> Backend:
        return backend(request.param, tmp_path, sheets, locale)

    return make
