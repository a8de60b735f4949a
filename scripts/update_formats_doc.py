"""Write the registry's formats table into docs/formats.md (between its table markers)."""

import pathlib
import re

from dpc_widgets.io.formats import formats_table

DOC = pathlib.Path(__file__).parents[1] / "docs" / "formats.md"

if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    text = re.sub(
        r"(<!-- formats-table:[^\n]*-->\n).*?(<!-- end formats-table -->)",
        lambda m: m.group(1) + formats_table() + "\n" + m.group(2),
        text,
        flags=re.S,
    )
    DOC.write_text(text, encoding="utf-8")
