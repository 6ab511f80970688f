"""A plugin that adds an operation of its own (send-payments) from outside core/."""
