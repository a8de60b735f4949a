"""``python -m dpc_widgets``: the ``dpc-widgets`` command line (:mod:`dpc_widgets.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
