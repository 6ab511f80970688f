"""`flx serve`: the operations dashboard (docs/dashboard.md).

app.py holds the Starlette app and what every handler shares; pages.py the pages, forms.py
the actions (POST), api.py the JSON API and /metrics, security.py the token and CSRF checks,
actions.py the action log and "run now", queries.py and chart.py the run history charts,
metrics.py the Prometheus collector. Templates and the stylesheet are package data."""
