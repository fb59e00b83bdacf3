"""`python -m widgets.diffusion_scrubber`: the panel's preview (see panel.main)."""
from .panel import main

raise SystemExit(main())
