"""The project's one structured logger: metrics and messages to stdout and a JSON-lines file."""
from dllogger.logger import JsonLinesBackend, Logger, StdOutBackend

__all__ = ['JsonLinesBackend', 'Logger', 'StdOutBackend']
