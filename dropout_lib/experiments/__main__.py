"""``python -m dropout_lib.experiments list | run NAME --scale small|full``."""

from .registry import main

raise SystemExit(main())
