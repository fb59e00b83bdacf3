"""`python -m widgets.data_browser`: the panel's preview (see panel.main)."""
from .panel import main

raise SystemExit(main())
