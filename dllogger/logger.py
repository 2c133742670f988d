"""Logger fans each record out to its backends; a backend renders it for one destination.

A record is a metric line (`step` plus named values, e.g. {'loss': 0.31, 'images_per_sec': 2.4})
or a plain message. Units are declared once with `metadata` and travel in the JSON file.
A Logger with no backends (non-zero Horovod ranks) accepts everything and writes nothing.
"""
import datetime
import json
import os
import sys
import time


class Logger:
    """Sends every record to each backend, in order."""

    def __init__(self, backends=()):
        self.backends = list(backends)

    def metadata(self, name, unit):
        """Declares the unit of a metric, e.g. metadata('images_per_sec', 'images/s')."""
        self._emit({'type': 'metadata', 'name': name, 'unit': unit})

    def log(self, step, data):
        """A metric record. `step` is an int, or a string such as 'train' for summaries."""
        self._emit({'type': 'metric', 'step': step, 'data': dict(data)})

    def message(self, text):
        self._emit({'type': 'message', 'text': str(text)})

    def flush(self):
        for backend in self.backends:
            backend.flush()

    def close(self):
        for backend in self.backends:
            backend.close()

    def _emit(self, record):
        record['timestamp'] = time.time()
        for backend in self.backends:
            backend.write(record)


class StdOutBackend:
    """Human-readable lines: `step 100 | loss 0.3120 | images_per_sec 2.41`."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def write(self, record):
        if record['type'] == 'message':
            line = record['text']
        elif record['type'] == 'metric':
            fields = [f'{key} {_format_value(value)}' for key, value in record['data'].items()]
            line = ' | '.join([f'step {record["step"]}'] + fields)
        else:
            return
        stamp = datetime.datetime.fromtimestamp(record['timestamp']).strftime('%H:%M:%S')
        print(f'[{stamp}] {line}', file=self.stream, flush=True)

    def flush(self):
        self.stream.flush()

    def close(self):
        self.flush()


class JsonLinesBackend:
    """One JSON object a line, appended unbuffered, so a crash loses nothing.

    A process killed in the middle of a record, or a disk that fills up during one, leaves
    a torn last line; the next run starts on a fresh line, so only that one line is
    unreadable, never the records after it. A failed write raises OSError naming the file,
    and leaves nothing buffered for close() to fail on again.
    """

    def __init__(self, path):
        self.path = path
        torn = _ends_without_newline(path)
        self.file = open(path, 'ab', buffering=0)
        if torn:
            self._write(b'\n')

    def write(self, record):
        self._write((json.dumps(record, default=_to_json) + '\n').encode('utf-8'))

    def _write(self, data):
        try:
            while data:
                data = data[self.file.write(data):]
        except OSError as err:
            raise OSError(err.errno, err.strerror, self.path) from None

    def flush(self):
        pass  # Unbuffered.

    def close(self):
        self.file.close()


def _ends_without_newline(path):
    try:
        with open(path, 'rb') as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b'\n'
    except OSError:  # Missing or empty.
        return False


def _format_value(value):
    if isinstance(value, float):
        # Four decimals suit losses and rates of images; a small learning rate or weight decay
        # needs significant digits instead, or a decayed 0.00026 reads 0.0003 and 1e-05 reads 0.
        # Large values (a latency of 16517 ms) keep their integer digits rather than becoming
        # 1.652e+04, up to 1e15, beyond which a float's integer digits are no longer exact.
        if value == 0 or 0.01 <= abs(value) < 1e4:
            return f'{value:.4f}'
        if 1e4 <= abs(value) < 1e15:
            return f'{value:.0f}'
        return f'{value:.4g}'
    return str(value)


def _to_json(value):
    """numpy scalars and other number-likes become plain floats; anything else its str."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
