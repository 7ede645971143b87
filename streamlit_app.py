"""The timbre workbench dashboard: ``make dashboard``, ``workbench dashboard`` or
``streamlit run streamlit_app.py -- [--data data --runs runs --reports reports]``.

A face: the pages live in the ``dashboard`` package (:mod:`dashboard.app` lays them out), which
calls the library and caches heavy objects.
"""

from dashboard.app import main

main()
