"""flx's benchmark and reliability suite (`make bench`, `make soak`); see docs/performance.md.

Not part of the installed distribution: the scripts run from a checkout."""
