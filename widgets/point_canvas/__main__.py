"""`python -m widgets.point_canvas`: the panel's preview (see panel.main)."""
from .panel import main

raise SystemExit(main())
