"""The studio's Qt shell: the application, the main window, the telemetry bus and the panel
controllers. It builds on studio.core and widgets; nothing imports it except the GUI entry
point (studio.core.cli starts it by name when `genstudio` runs without a subcommand)."""
