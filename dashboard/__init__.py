"""The dashboard's pages (faces: they arrange widgets and call :mod:`analysis.dashboard_data`)."""
