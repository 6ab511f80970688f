"""The "fakefeed" test source: it proves that core knows no order system.

Its records live in memory (`FEEDS`), each with a sequence number; a pull yields them after
the cursor, a page at a time, the way an API with an updated-since cursor would. Register it
with `build_plugins(tests.fake_source.plugin, autoload=False)`."""
