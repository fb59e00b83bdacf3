"""One controller per panel: it wires its panel's signals to host requests and delivers the
host's news (run snapshots, states, samples, renders of the kinds it owns) to its panel.

Every controller depends on the `Session` interface (studio.shell.session), not on the main
window; the window builds them from the panel registry (studio.shell.panels) and calls the
same hooks on each (see base.Controller)."""
