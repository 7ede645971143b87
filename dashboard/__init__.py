"""The dashboard's pages (faces: they arrange widgets and call the library below them)."""
