"""`python -m widgets.mode_collapse`: the panel's preview (see panel.main)."""
from .panel import main

raise SystemExit(main())
