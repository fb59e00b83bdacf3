"""`python -m widgets.translation_view`: the panel's preview (see panel.main)."""
from .panel import main

raise SystemExit(main())
