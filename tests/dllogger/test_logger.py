import io
import json
import os

import numpy as np

from dllogger import JsonLinesBackend, Logger, StdOutBackend


def test_json_lines_backend_writes_one_valid_object_per_record(tmp_path):
    path = tmp_path / 'log.jsonl'
    logger = Logger([JsonLinesBackend(str(path))])
    logger.metadata('images_per_sec', 'images/s')
    logger.log(10, {'loss': np.float32(0.5), 'images_per_sec': 2.0, 'eta': '0:01:00'})
    logger.message('hello')
    logger.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r['type'] for r in records] == ['metadata', 'metric', 'message']
    assert records[0] == {'type': 'metadata', 'name': 'images_per_sec', 'unit': 'images/s',
                          'timestamp': records[0]['timestamp']}
    assert records[1]['step'] == 10
    assert records[1]['data'] == {'loss': 0.5, 'images_per_sec': 2.0, 'eta': '0:01:00'}
    assert records[2]['text'] == 'hello'


def test_json_lines_backend_appends(tmp_path):
    path = tmp_path / 'log.jsonl'
    for step in (1, 2):
        logger = Logger([JsonLinesBackend(str(path))])
        logger.log(step, {'loss': 1.0})
        logger.close()
    assert [json.loads(line)['step'] for line in path.read_text().splitlines()] == [1, 2]


def test_a_torn_last_line_does_not_swallow_the_next_record(tmp_path):
    path = tmp_path / 'log.jsonl'
    path.write_text('{"type": "metric", "step": 1}\n{"type": "metr')  # Killed mid-write.
    logger = Logger([JsonLinesBackend(str(path))])
    logger.log(2, {'loss': 1.0})
    logger.close()
    lines = path.read_text().splitlines()
    assert lines[1] == '{"type": "metr'
    assert [json.loads(lines[i])['step'] for i in (0, 2)] == [1, 2]


def test_stdout_backend_formats_metrics_and_skips_metadata():
    stream = io.StringIO()
    logger = Logger([StdOutBackend(stream)])
    logger.metadata('loss', 'nats')
    logger.log(100, {'loss': 0.31204, 'images_per_sec': 2.5})
    logger.message('done')
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith('step 100 | loss 0.3120 | images_per_sec 2.5000')
    assert lines[1].endswith('] done')


def test_stdout_backend_keeps_significant_digits_of_small_and_large_values():
    stream = io.StringIO()
    Logger([StdOutBackend(stream)]).log(
        5, {'learning_rate': 0.00026384, 'weight_decay': 1e-05, 'zero': 0.0, 'big': 123456.7,
            'huge': 2.5e20})
    assert stream.getvalue().rstrip().endswith(
        'step 5 | learning_rate 0.0002638 | weight_decay 1e-05 | zero 0.0000 | big 123457 | '
        'huge 2.5e+20')


def test_logger_without_backends_writes_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    logger = Logger()
    logger.metadata('loss', 'nats')
    logger.log(1, {'loss': 1.0})
    logger.message('a message')
    logger.flush()
    logger.close()
    assert capfd.readouterr() == ('', '')
    assert os.listdir(tmp_path) == []
