"""The progress hook's throughput summary: mean and percentiles of the measured steps."""
import pytest

from utils.hooks.progress_hook import step_time_summary


def test_step_time_summary_is_mean_and_true_percentiles():
    summary = step_time_summary([1.0, 2.0, 3.0, 4.0], images_per_step=2)
    assert summary['measured_steps'] == 4
    assert summary['images_per_sec'] == pytest.approx(0.8)
    assert summary['latency_mean_ms'] == pytest.approx(2500)
    assert summary['latency_p90_ms'] == pytest.approx(3700)
    assert summary['latency_p99_ms'] == pytest.approx(3970)
    # 100 steps of 10 ms and one of 1 s: the outlier moves the mean, not the p90.
    skewed = step_time_summary([0.01] * 100 + [1.0], images_per_step=1)
    assert skewed['latency_p90_ms'] == pytest.approx(10)
    assert skewed['latency_mean_ms'] == pytest.approx(1000 * 2.0 / 101)
