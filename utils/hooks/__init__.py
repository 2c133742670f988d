"""SessionRunHooks, one concern per module."""
