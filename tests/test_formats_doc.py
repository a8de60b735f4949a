"""docs/formats.md and load()'s docstring carry the registry's formats table."""

import pathlib
import re

import dpc_widgets
from dpc_widgets.io.formats import FORMATS, formats_table

DOC = pathlib.Path(__file__).parents[1] / "docs" / "formats.md"


def test_docs_table_is_the_registry():
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- formats-table:[^\n]*-->\n(.*?)<!-- end formats-table -->", text, re.S)
    assert match, "docs/formats.md lost its table markers"
    assert match.group(1).strip() == formats_table(), (
        "docs/formats.md is out of date: paste dpc_widgets.io.formats.formats_table() in it"
    )


def test_load_docstring_lists_every_format():
    doc = dpc_widgets.load.__doc__
    for spec in FORMATS:
        assert f"``{spec.name}`` ({spec.title})" in doc
        for extension in spec.extensions:
            assert extension in doc
